#include "controller/observe/sidecar_observer.h"

#include <algorithm>

namespace pgvigil {

namespace {

using web::json::value;

const value* Field(const value& o, const char* k) {
  return o.is_object() && o.has_field(k) ? &o.at(k) : nullptr;
}
std::string Str(const value& o, const char* k) {
  const value* f = Field(o, k);
  return f && f->is_string() ? f->as_string() : std::string();
}
int64_t Int(const value& o, const char* k, int64_t def = 0) {
  const value* f = Field(o, k);
  if (!f) return def;
  if (f->is_number()) return f->as_number().to_int64();
  if (f->is_string()) {
    try {
      return std::stoll(f->as_string());
    } catch (...) {
    }
  }
  return def;
}
bool Bool(const value& o, const char* k, bool def = false) {
  const value* f = Field(o, k);
  return f && f->is_boolean() ? f->as_bool() : def;
}

bool ParseKind(const std::string& s, plan::OperationKind* k) {
  using K = plan::OperationKind;
  static const std::pair<const char*, K> kKinds[] = {{"promote", K::kPromote}, {"stop", K::kStop},
                                                     {"start", K::kStart},     {"restart", K::kRestart},
                                                     {"follow", K::kFollow},   {"rebuild", K::kRebuild}};
  for (const auto& [name, kind] : kKinds)
    if (s == name) {
      *k = kind;
      return true;
    }
  return false;
}

}  // namespace

std::string ApplySidecarStatus(const value& status, plan::TimeMs now, plan::NodeObservation* out) {
  if (!status.is_object() || !Field(status, "postgres"))
    return "sidecar status has no 'postgres' section";
  const value& pg = status.at("postgres");
  out->sidecarReachable = true;
  out->sidecarObservedAt = now;
  out->postgresRunning = Bool(pg, "running");
  out->selfFencedInTerm = 0;
  if (const value* fence = Field(status, "selfFence"); fence && fence->is_object())
    out->selfFencedInTerm = static_cast<uint64_t>(std::max<int64_t>(0, Int(*fence, "fencedInTerm", 0)));
  out->dataDirectoryInitialized = Bool(pg, "dataDirectoryInitialized", true);
  out->pendingRestart.clear();
  out->parameterProblems.clear();
  if (const value* params = Field(pg, "parameters"); params && params->is_object()) {
    if (const value* pending = Field(*params, "pendingRestart"); pending && pending->is_array())
      for (const auto& n : pending->as_array())
        if (n.is_string()) out->pendingRestart.push_back(n.as_string());
    if (const value* errors = Field(*params, "errors"); errors && errors->is_array())
      for (const auto& e : errors->as_array())
        if (e.is_object())
          out->parameterProblems.push_back(Str(e, "name") + ": refused from pgvigil.conf: " + Str(e, "error"));
    if (const value* aside = Field(*params, "setAside"); aside && aside->is_array())
      for (const auto& e : aside->as_array())
        if (e.is_object())
          out->parameterProblems.push_back(Str(e, "name") + " = '" + Str(e, "value") +
                                           "': set aside at the sidecar's start: " + Str(e, "reason"));
  }
  out->operation.reset();
  if (const value* op = Field(status, "operation"); op && op->is_object()) {
    plan::Operation o;
    o.id = Str(*op, "id");
    std::string state = Str(*op, "state");
    o.state = state == "running"     ? plan::OperationState::kRunning
              : state == "succeeded" ? plan::OperationState::kSucceeded
                                     : plan::OperationState::kFailed;
    o.step = Str(*op, "step");
    o.error = Str(*op, "error");
    if (const value* p = Field(*op, "progress"); p && p->is_object())
      o.progressPercent = static_cast<int>(Int(*p, "percent", 0));
    if (ParseKind(Str(*op, "type"), &o.kind)) out->operation = o;
  }
  out->healthView.clear();
  if (const value* backends = Field(status, "backends"); backends && backends->is_array()) {
    for (const auto& b : backends->as_array()) {
      const value* up = Field(b, "up");
      // A backend this sidecar has not checked yet (just started) is no vote
      // either way, as in the watchdog's heartbeats.
      if (Str(b, "lastCheck").empty()) continue;
      if (up && up->is_boolean() && !Str(b, "node").empty()) out->healthView[Str(b, "node")] = up->as_bool();
    }
  }
  if (const value* comps = Field(status, "components")) {
    if (const value* proxy = Field(*comps, "proxy"); proxy && proxy->is_object()) {
      out->routingGeneration = static_cast<uint64_t>(Int(*proxy, "routingGeneration", 0));
      out->proxyPaused = Bool(*proxy, "paused");
      out->proxyInTransaction = static_cast<int>(Int(*proxy, "inTransaction", 0));
    }
  }
  return "";
}

plan::WatchdogView ParseWatchdogView(const value& d, plan::TimeMs now) {
  plan::WatchdogView w;
  w.observedAt = now;
  w.leader = Str(d, "leader");
  w.term = static_cast<uint64_t>(Int(d, "term"));
  w.quorum = Bool(d, "quorum");
  if (const value* members = Field(d, "members"); members && members->is_array()) {
    for (const auto& m : members->as_array()) {
      std::string st = Str(m, "state");
      if (st == "LEADER" || st == "STANDBY" || st == "CANDIDATE") ++w.liveMembers;
      if (const value* over = Field(m, "writeLeaseOver"); over && over->is_boolean()) {
        w.writeLeasesKnown = true;
        if (over->as_bool()) w.writeLeaseOver.push_back(Str(m, "name"));
      }
    }
  }
  if (const value* backends = Field(d, "backends"); backends && backends->is_array()) {
    for (const auto& b : backends->as_array()) {
      plan::ConsensusHealth h;
      h.seeDown = static_cast<int>(Int(b, "down"));
      h.seeUp = static_cast<int>(Int(b, "up"));
      w.backends[Str(b, "node")] = h;
    }
  }
  return w;
}

MemberHeard ParseMemberHeard(const value& d, const std::string& about) {
  MemberHeard h;
  if (const value* members = Field(d, "members"); members && members->is_array()) {
    for (const auto& m : members->as_array()) {
      if (Str(m, "name") != about) continue;
      const value* heard = Field(m, "lastHeardMs");
      if (!heard) break;
      if (heard->is_number()) {
        h.reported = true;
        h.lastHeardMs = static_cast<int64_t>(heard->as_number().to_double());
      } else if (heard->is_null()) {
        h.reported = true;
      }
      break;
    }
  }
  if (const value* backends = Field(d, "backends"); backends && backends->is_array()) {
    for (const auto& b : backends->as_array())
      if (Str(b, "node") == about && Field(b, "down")) h.seeDown = static_cast<int>(Int(b, "down"));
  }
  return h;
}

plan::WatchdogView StandaloneHealthView(const plan::Observation& obs, plan::TimeMs now) {
  plan::WatchdogView w;
  w.observedAt = now;
  w.quorum = true;
  w.liveMembers = 1;  // the controller itself
  for (const auto& o : obs.nodes)
    if (o.sidecarReachable) ++w.liveMembers;
  for (const auto& backend : obs.nodes) {
    plan::ConsensusHealth& h = w.backends[backend.name];
    (backend.pgReachable ? h.seeUp : h.seeDown) += 1;
    for (const auto& observer : obs.nodes) {
      if (!observer.sidecarReachable) continue;
      auto it = observer.healthView.find(backend.name);
      if (it == observer.healthView.end()) continue;
      (it->second ? h.seeUp : h.seeDown) += 1;
    }
  }
  return w;
}

std::string ObserveSidecar(RestClient& client, plan::TimeMs now, plan::NodeObservation* out) {
  auto reply = client.Get("/v1/status");
  std::string error;
  if (!reply.ok()) {
    error = reply.error();
  } else if (reply->status != 200) {
    error = DescribeFailure(*reply);
  } else {
    error = ApplySidecarStatus(reply->body, now, out);
  }
  if (!error.empty()) out->sidecarReachable = false;
  return error;
}

}  // namespace pgvigil
