#include "controller/observe/sidecar_observer.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/sidecar_status.h"
#include "common/watchdog_detail.h"

namespace pgvigil {

namespace {

using web::json::value;

bool ParseKind(const std::string& s, plan::OperationKind* k) {
  using K = plan::OperationKind;
  static const std::pair<const char*, K> kKinds[] = {{"promote", K::kPromote}, {"stop", K::kStop},
                                                     {"start", K::kStart},     {"restart", K::kRestart},
                                                     {"follow", K::kFollow},   {"rebuild", K::kRebuild},
                                                     {"init", K::kInit}};
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
  // An older sidecar does not say, nor does one without a data directory.
  const std::string& dir_role = st.postgres.dataDirectoryRole;
  out->dataDirectoryRole = dir_role == "primary"   ? plan::DataDirectoryRole::kPrimary
                           : dir_role == "standby" ? plan::DataDirectoryRole::kStandby
                                                   : plan::DataDirectoryRole::kUnknown;
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
    o.term = st.operation->term;
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

plan::WatchdogView WatchdogViewOf(const WatchdogDetail& d, plan::TimeMs now) {
  plan::WatchdogView w;
  w.observedAt = now;
  w.leader = d.leader;
  w.term = d.term;
  w.quorum = d.quorum;
  for (const auto& m : d.members) {
    if (m.state == "LEADER" || m.state == "STANDBY" || m.state == "CANDIDATE") ++w.liveMembers;
    if (m.contact) {
      w.writeLeasesKnown = true;
      if (m.contact->writeLeaseOver) w.writeLeaseOver.push_back(m.name);
    }
  }
  for (const auto& b : d.backends) {
    plan::ConsensusHealth h;
    h.seeDown = b.down;
    h.seeUp = b.up;
    w.backends[b.node] = h;
  }
  return w;
}

MemberHeard MemberHeardOf(const WatchdogDetail& d, const std::string& about) {
  MemberHeard h;
  for (const auto& m : d.members) {
    if (m.name != about) continue;
    h.reported = m.lastHeardShown;
    h.lastHeardMs = m.lastHeardMs;
    break;
  }
  for (const auto& b : d.backends)
    if (b.node == about) h.seeDown = b.down;
  return h;
}

std::optional<WatchdogDetail> DecodeWatchdogDetail(const value& detail, const std::string& from) {
  std::vector<std::string> notes;
  Result<WatchdogDetail> d = WatchdogDetailFromJson(detail, &notes);
  for (const auto& n : notes) spdlog::debug("observe: watchdog view of {}: {}", from, n);
  if (!d.ok()) {
    spdlog::debug("observe: watchdog view of {}: {}", from, d.error());
    return std::nullopt;
  }
  return std::move(*d);
}

plan::WatchdogView ParseWatchdogView(const value& d, plan::TimeMs now) {
  if (auto detail = DecodeWatchdogDetail(d, "a sidecar")) return WatchdogViewOf(*detail, now);
  plan::WatchdogView w;
  w.observedAt = now;
  return w;
}

MemberHeard ParseMemberHeard(const value& d, const std::string& about) {
  if (auto detail = DecodeWatchdogDetail(d, "a sidecar")) return MemberHeardOf(*detail, about);
  return MemberHeard{};
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
