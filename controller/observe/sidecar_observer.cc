#include "controller/observe/sidecar_observer.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/sidecar_status.h"

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
  std::vector<std::string> notes;
  Result<SidecarStatus> decoded = SidecarStatusFromJson(status, &notes);
  if (!decoded.ok()) return decoded.error();
  const SidecarStatus& st = *decoded;
  out->sidecarReachable = true;
  out->sidecarObservedAt = now;
  out->postgresRunning = st.postgres.running;
  out->selfFencedInTerm = st.selfFence.fencedInTerm.value_or(0);
  // An older sidecar does not say: it had nothing to rebuild from scratch.
  out->dataDirectoryInitialized = st.postgres.dataDirectoryInitialized.value_or(true);
  out->pendingRestart.clear();
  out->parameterProblems.clear();
  if (st.postgres.parameters) {
    const SidecarParameters& params = *st.postgres.parameters;
    out->pendingRestart = params.pendingRestart;
    for (const auto& e : params.errors)
      out->parameterProblems.push_back(e.name + ": refused from pgvigil.conf: " + e.error);
    for (const auto& e : params.setAside)
      out->parameterProblems.push_back(e.name + " = '" + e.value +
                                       "': set aside at the sidecar's start: " + e.reason);
  }
  out->operation.reset();
  if (st.operation) {
    plan::Operation o;
    o.id = st.operation->id;
    const std::string& state = st.operation->state;
    o.state = state == "running"     ? plan::OperationState::kRunning
              : state == "succeeded" ? plan::OperationState::kSucceeded
                                     : plan::OperationState::kFailed;
    o.step = st.operation->step;
    o.error = st.operation->error;
    o.progressPercent = st.operation->percent;
    if (ParseKind(st.operation->type, &o.kind)) out->operation = o;
  }
  out->healthView.clear();
  for (const auto& b : st.backends) {
    // A backend this sidecar has not checked yet (just started) is no vote
    // either way, as in the watchdog's heartbeats.
    if (b.lastCheck.empty() || b.node.empty()) continue;
    out->healthView[b.node] = b.up;
  }
  if (auto proxy = st.components.find("proxy");
      proxy != st.components.end() && proxy->second.is_object()) {
    const ProxySummary p = ProxySummaryFromJson(proxy->second, &notes);
    out->routingGeneration = p.routingGeneration;
    out->proxyPaused = p.paused;
    out->proxyInTransaction = p.inTransaction;
  }
  // Read as their defaults, as always; said where someone looking may see it.
  for (const auto& n : notes) spdlog::debug("observe: sidecar status of {}: {}", out->name, n);
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
