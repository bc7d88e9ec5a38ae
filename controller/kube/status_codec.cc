#include "controller/kube/status_codec.h"

#include <string>
#include <vector>

namespace pgvigil::kube {

using web::json::value;

namespace {

const char* TransitionKindName(plan::TransitionKind k) {
  return k == plan::TransitionKind::kSwitchover ? "Switchover" : "Failover";
}

const char* StepName(plan::TransitionStep s) {
  switch (s) {
    case plan::TransitionStep::kFencing:
      return "Fencing";
    case plan::TransitionStep::kPaused:
      return "Paused";
    case plan::TransitionStep::kStopping:
      return "Stopping";
    case plan::TransitionStep::kPromoting:
      return "Promoting";
  }
  return "?";
}

value Names(const std::vector<std::string>& names) {
  value a = value::array(names.size());
  for (size_t i = 0; i < names.size(); ++i) a[i] = value::string(names[i]);
  return a;
}

// Field readers: a missing field keeps the default; a present one of the
// wrong type is an error naming "status.<path>".
class Reader {
 public:
  Reader(const value& obj, std::string path) : obj_(obj), path_(std::move(path)) {}
  const std::string& error() const { return error_; }
  bool ok() const { return error_.empty(); }

  void U64(const char* k, uint64_t* out) {
    if (!Has(k)) return;
    const value& v = obj_.at(k);
    if (!v.is_number() || !v.as_number().is_uint64()) return Fail(k, "not a non-negative integer");
    *out = v.as_number().to_uint64();
  }
  void I64(const char* k, int64_t* out) {
    if (!Has(k)) return;
    const value& v = obj_.at(k);
    if (!v.is_number() || !v.as_number().is_int64()) return Fail(k, "not an integer");
    *out = v.as_number().to_int64();
  }
  void U32(const char* k, uint32_t* out) {
    uint64_t v = *out;
    U64(k, &v);
    if (v > UINT32_MAX) return Fail(k, "out of range");
    *out = static_cast<uint32_t>(v);
  }
  void Str(const char* k, std::string* out) {
    if (!Has(k)) return;
    if (!obj_.at(k).is_string()) return Fail(k, "not a string");
    *out = obj_.at(k).as_string();
  }
  void StrList(const char* k, std::vector<std::string>* out) {
    out->clear();
    if (!Has(k)) return;
    const value& a = obj_.at(k);
    if (!a.is_array()) return Fail(k, "not a list");
    for (size_t i = 0; i < a.size(); ++i) {
      if (!a.at(i).is_string()) return Fail(std::string(k) + "[" + std::to_string(i) + "]", "not a string");
      out->push_back(a.at(i).as_string());
    }
  }
  void IntList(const char* k, std::vector<int>* out) {
    out->clear();
    if (!Has(k)) return;
    const value& a = obj_.at(k);
    if (!a.is_array()) return Fail(k, "not a list");
    for (size_t i = 0; i < a.size(); ++i) {
      if (!a.at(i).is_number() || !a.at(i).as_number().is_int32())
        return Fail(std::string(k) + "[" + std::to_string(i) + "]", "not an integer");
      out->push_back(a.at(i).as_number().to_int32());
    }
  }
  void Fail(const std::string& k, const std::string& why) {
    if (error_.empty()) error_ = path_ + "." + k + ": " + why;
  }

 private:
  bool Has(const char* k) const { return ok() && obj_.has_field(k) && !obj_.at(k).is_null(); }
  const value& obj_;
  std::string path_;
  std::string error_;
};

}  // namespace

void EncodeStatusState(const plan::ClusterState& s, uint64_t term, value* status) {
  if (!status->is_object()) *status = value::object();
  value& v = *status;
  v["term"] = value::number(term);
  v["stateFormat"] = value::number(kStatusStateFormat);
  v["stateVersion"] = value::number(s.version);
  v["currentPrimary"] = value::string(s.primary);
  v["targetPrimary"] = value::string(s.transition.active() ? s.transition.to : s.primary);
  v["timeline"] = value::number(s.timeline);
  v["routingGeneration"] = value::number(s.routingGeneration);
  v["routedPrimary"] = value::string(s.routedPrimary);
  v["routedStandbys"] = Names(s.routedStandbys);
  value w = value::array(s.routedWeights.size());
  for (size_t i = 0; i < s.routedWeights.size(); ++i) w[i] = value::number(s.routedWeights[i]);
  v["routedWeights"] = w;
  v["synchronousStandbys"] = Names(s.synchronousStandbys);
  v["synchronousCount"] = value::number(s.synchronousCount);
  v["syncShrinkLsn"] = value::number(s.syncShrinkLsn);
  v["fenced"] = Names(s.fenced);
  v["detached"] = Names(s.detached);
  v["switchoverBackoffUntilMs"] = value::number(s.switchoverBackoffUntil);
  if (s.transition.active()) {
    value t = value::object();
    t["kind"] = value::string(TransitionKindName(s.transition.kind));
    t["from"] = value::string(s.transition.from);
    t["to"] = value::string(s.transition.to);
    t["step"] = value::string(StepName(s.transition.step));
    t["startedAtMs"] = value::number(s.transition.startedAt);
    t["stopLsn"] = value::number(s.transition.stopLsn);
    v["transition"] = t;
  } else if (v.has_field("transition")) {
    v.erase("transition");
  }
}

void EncodeFencedPrimary(const std::string& primary, value* status) {
  if (!status->is_object()) *status = value::object();
  if (!primary.empty()) (*status)["fencedPrimary"] = value::string(primary);
  else if (status->has_field("fencedPrimary")) status->erase("fencedPrimary");
}

Result<StatusState> DecodeStatusState(const value& status) {
  StatusState out;
  if (status.is_null()) return out;
  if (!status.is_object()) return Result<StatusState>::Error("status: not an object");
  Reader r(status, "status");
  r.U64("term", &out.term);
  int64_t format = 0;
  r.I64("stateFormat", &format);
  r.Str("fencedPrimary", &out.fencedPrimary);
  if (!r.ok()) return Result<StatusState>::Error(r.error());
  if (!status.has_field("stateFormat")) return out;  // no state written yet
  if (format != kStatusStateFormat)
    return Result<StatusState>::Error("status.stateFormat: " + std::to_string(format) + " is not the supported " +
                                      std::to_string(kStatusStateFormat));
  plan::ClusterState& s = out.state;
  int64_t sync_count = 0;
  r.U64("stateVersion", &s.version);
  r.Str("currentPrimary", &s.primary);
  r.U32("timeline", &s.timeline);
  r.U64("routingGeneration", &s.routingGeneration);
  r.Str("routedPrimary", &s.routedPrimary);
  r.StrList("routedStandbys", &s.routedStandbys);
  r.IntList("routedWeights", &s.routedWeights);
  r.StrList("synchronousStandbys", &s.synchronousStandbys);
  r.I64("synchronousCount", &sync_count);
  r.U64("syncShrinkLsn", &s.syncShrinkLsn);
  r.StrList("fenced", &s.fenced);
  r.StrList("detached", &s.detached);
  r.I64("switchoverBackoffUntilMs", &s.switchoverBackoffUntil);
  if (r.ok() && (sync_count < 0 || sync_count > 1000)) r.Fail("synchronousCount", "out of range");
  s.synchronousCount = static_cast<int>(sync_count);
  if (!r.ok()) return Result<StatusState>::Error(r.error());
  if (status.has_field("transition") && !status.at("transition").is_null()) {
    const value& t = status.at("transition");
    if (!t.is_object()) return Result<StatusState>::Error("status.transition: not an object");
    Reader tr(t, "status.transition");
    std::string kind, step;
    tr.Str("kind", &kind);
    tr.Str("from", &s.transition.from);
    tr.Str("to", &s.transition.to);
    tr.Str("step", &step);
    tr.I64("startedAtMs", &s.transition.startedAt);
    tr.U64("stopLsn", &s.transition.stopLsn);
    if (tr.ok()) {
      if (kind == "Failover") s.transition.kind = plan::TransitionKind::kFailover;
      else if (kind == "Switchover") s.transition.kind = plan::TransitionKind::kSwitchover;
      else tr.Fail("kind", "'" + kind + "' is not Failover or Switchover");
    }
    if (tr.ok()) {
      bool known = false;
      for (auto st : {plan::TransitionStep::kFencing, plan::TransitionStep::kPaused, plan::TransitionStep::kStopping,
                      plan::TransitionStep::kPromoting})
        if (step == StepName(st)) {
          s.transition.step = st;
          known = true;
        }
      if (!known) tr.Fail("step", "'" + step + "' is not Fencing, Paused, Stopping or Promoting");
    }
    if (!tr.ok()) return Result<StatusState>::Error(tr.error());
  }
  return out;
}

}  // namespace pgvigil::kube
