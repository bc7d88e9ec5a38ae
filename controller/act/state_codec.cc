#include "controller/act/state_codec.h"

namespace pgvigil {

namespace {

using web::json::value;

value Names(const std::vector<std::string>& names) {
  value a = value::array(names.size());
  for (size_t i = 0; i < names.size(); ++i) a[i] = value::string(names[i]);
  return a;
}

bool ReadNames(const value& o, const char* k, std::vector<std::string>* out) {
  out->clear();
  if (!o.has_field(k)) return true;
  const value& a = o.at(k);
  if (!a.is_array()) return false;
  for (const auto& v : a.as_array()) {
    if (!v.is_string()) return false;
    out->push_back(v.as_string());
  }
  return true;
}

// Numbers must be integers in the field's range: cpprest's to_uint64() and kin
// cast a double unchecked (undefined behaviour for 1e300; found by fuzzing).
bool ReadU64(const value& o, const char* k, uint64_t* out) {
  if (!o.has_field(k)) return true;
  if (!o.at(k).is_number() || !o.at(k).as_number().is_uint64()) return false;
  *out = o.at(k).as_number().to_uint64();
  return true;
}

bool ReadI64(const value& o, const char* k, int64_t* out) {
  if (!o.has_field(k)) return true;
  if (!o.at(k).is_number() || !o.at(k).as_number().is_int64()) return false;
  *out = o.at(k).as_number().to_int64();
  return true;
}

bool ReadStr(const value& o, const char* k, std::string* out) {
  if (!o.has_field(k)) return true;
  if (!o.at(k).is_string()) return false;
  *out = o.at(k).as_string();
  return true;
}

bool ReadInts(const value& o, const char* k, std::vector<int>* out) {
  out->clear();
  if (!o.has_field(k)) return true;
  const value& a = o.at(k);
  if (!a.is_array()) return false;
  for (const auto& v : a.as_array()) {
    if (!v.is_number() || !v.as_number().is_int32()) return false;
    out->push_back(v.as_number().to_int32());
  }
  return true;
}

}  // namespace

value EncodeClusterState(const plan::ClusterState& s) {
  value v = value::object();
  v["f"] = value::number(kStateFormatVersion);
  v["v"] = value::number(s.version);
  v["p"] = value::string(s.primary);
  v["tl"] = value::number(s.timeline);
  v["rg"] = value::number(s.routingGeneration);
  v["rp"] = value::string(s.routedPrimary);
  v["rs"] = Names(s.routedStandbys);
  if (!s.routedWeights.empty()) {
    value w = value::array(s.routedWeights.size());
    for (size_t i = 0; i < s.routedWeights.size(); ++i) w[i] = value::number(s.routedWeights[i]);
    v["rw"] = w;
  }
  v["ss"] = Names(s.synchronousStandbys);
  v["sc"] = value::number(s.synchronousCount);
  v["sl"] = value::number(s.syncShrinkLsn);
  v["fe"] = Names(s.fenced);
  v["de"] = Names(s.detached);
  v["bo"] = value::number(s.switchoverBackoffUntil);
  if (s.transition.active()) {
    value t = value::object();
    t["k"] = value::number(static_cast<int>(s.transition.kind));
    t["fr"] = value::string(s.transition.from);
    t["to"] = value::string(s.transition.to);
    t["st"] = value::number(static_cast<int>(s.transition.step));
    t["at"] = value::number(s.transition.startedAt);
    t["sl"] = value::number(s.transition.stopLsn);
    v["tr"] = t;
  }
  return v;
}

Result<plan::ClusterState> DecodeClusterState(const value& doc) {
  plan::ClusterState s;
  if (doc.is_null()) return s;
  if (!doc.is_object()) return Result<plan::ClusterState>::Error("cluster state is not an object");
  int64_t format = 0;
  if (!ReadI64(doc, "f", &format) || format != kStateFormatVersion)
    return Result<plan::ClusterState>::Error("cluster state format " + std::to_string(format) +
                                             " is not the supported " +
                                             std::to_string(kStateFormatVersion));
  uint64_t timeline = 0, sync_lsn = 0;
  int64_t sync_count = 0;
  bool ok = ReadU64(doc, "v", &s.version) && ReadStr(doc, "p", &s.primary) &&
            ReadU64(doc, "tl", &timeline) && ReadU64(doc, "rg", &s.routingGeneration) &&
            ReadStr(doc, "rp", &s.routedPrimary) && ReadNames(doc, "rs", &s.routedStandbys) &&
            ReadInts(doc, "rw", &s.routedWeights) &&
            ReadNames(doc, "ss", &s.synchronousStandbys) && ReadI64(doc, "sc", &sync_count) &&
            ReadU64(doc, "sl", &sync_lsn) && ReadNames(doc, "fe", &s.fenced) &&
            ReadNames(doc, "de", &s.detached) && ReadI64(doc, "bo", &s.switchoverBackoffUntil);
  if (ok && doc.has_field("tr")) {
    const value& t = doc.at("tr");
    int64_t kind = 0, step = 0;
    ok = t.is_object() && ReadI64(t, "k", &kind) && ReadStr(t, "fr", &s.transition.from) &&
         ReadStr(t, "to", &s.transition.to) && ReadI64(t, "st", &step) &&
         ReadI64(t, "at", &s.transition.startedAt) && ReadU64(t, "sl", &s.transition.stopLsn) &&
         kind >= 0 && kind <= 2 && step >= 0 && step <= 3;
    if (ok) {
      s.transition.kind = static_cast<plan::TransitionKind>(kind);
      s.transition.step = static_cast<plan::TransitionStep>(step);
    }
    // No transition is no transition: what EncodeClusterState writes (found by
    // fuzzing: fields of a kNone transition were kept and lost on the next write).
    if (ok && !s.transition.active()) s.transition = plan::Transition{};
  }
  if (!ok) return Result<plan::ClusterState>::Error("cluster state has a field of the wrong type");
  s.timeline = static_cast<uint32_t>(timeline);
  s.synchronousCount = static_cast<int>(sync_count);
  s.syncShrinkLsn = sync_lsn;
  return s;
}

}  // namespace pgvigil
