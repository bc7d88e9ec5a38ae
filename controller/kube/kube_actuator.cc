#include "controller/kube/kube_actuator.h"

#include <chrono>

#include "common/node_operation.h"
#include "common/routing_table.h"
#include "common/strings.h"
#include "controller/kube/fenced_primary.h"

#include <spdlog/spdlog.h>

#include "common/node_spec_push.h"
#include "controller/act/actuator.h"
#include "controller/act/state_codec.h"
#include "controller/kube/kube_lease.h"
#include "controller/kube/kube_init.h"
#include "controller/kube/node_loss.h"
#include "controller/kube/promote_check.h"
#include "controller/kube/render_objects.h"
#include "controller/observe/sidecar_observer.h"

namespace pgvigil::kube {

using web::json::value;

namespace {

std::map<std::string, std::string> StringMap(const value& meta, const char* field) {
  std::map<std::string, std::string> out;
  if (!meta.has_object_field(field)) return out;
  for (const auto& [k, v] : meta.at(field).as_object())
    if (v.is_string()) out[k] = v.as_string();
  return out;
}

std::vector<std::string> Instances(const ClusterResource& r) {
  std::vector<std::string> out;
  for (const auto& n : r.spec.nodes) out.push_back(n.name);
  return out;
}

uint64_t PodTerm(const PodMeta& pod) {
  auto it = pod.annotations.find(kTermAnnotation);
  if (it == pod.annotations.end()) return 0;
  try {
    return std::stoull(it->second);
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

std::set<std::string> FencedInstances(const plan::ClusterState& state) {
  std::set<std::string> out(state.fenced.begin(), state.fenced.end());
  // The outgoing primary once routing no longer names it, as kube_plan's
  // RoleOf labels it: while a switchover still routes to it (catch-up, pause)
  // it stays labelled primary, and asking for the fenced label then would
  // block every action of the switchover.
  const plan::Transition& t = state.transition;
  if (t.active() && !t.from.empty() && state.routedPrimary != t.from) out.insert(t.from);
  return out;
}

KubeActuator::KubeActuator(KubeClient* client, std::string ns, std::string name,
                           std::function<void(uint64_t)> deposed)
    : client_(client), ns_(std::move(ns)), name_(std::move(name)), deposed_(std::move(deposed)),
      status_(client, ns_, name_),
      mirror_(std::make_unique<RegisterMirror>(ns_ + "/" + name_)) {}

void KubeActuator::SetResource(const ClusterResource& resource, const std::string& uid, const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  resource_ = resource;
  uid_ = uid;
  ++resourceVersion_;
  resourceWhy_ = why.empty() ? "the accepted resource" : why;
}

std::optional<ClusterResource> KubeActuator::Resource(std::string* uid) {
  std::lock_guard<std::mutex> lock(mu_);
  if (uid) *uid = uid_ + "#" + std::to_string(resourceVersion_);
  return resource_;
}

Result<plan::ClusterState> KubeActuator::Load() {
  auto r = status_.Read();
  if (!r.ok()) return r.status();
  // What the acting controller recorded it stopped for the manual fence: a new
  // leader learns it here (fenced_primary.h).
  fencedPrimary_ = r->fencedPrimary;
  if (r->state.ok()) last_ = *r->state;
  return r->state;
}

Status KubeActuator::RecordFencedPrimary(const std::string& primary, uint64_t term) {
  if (fencedPrimary_ == primary) return Status::Ok();
  auto r = status_.EditStatus(term, [&primary](value* s) { EncodeFencedPrimary(primary, s); });
  if (!r.ok()) return Status::Error("recording status.fencedPrimary '" + primary + "': " + r.error());
  spdlog::info("{}/{}: status.fencedPrimary {} (term {}): {}", ns_, name_,
               primary.empty() ? "cleared (was " + fencedPrimary_ + ")" : "= " + primary, term, *r);
  fencedPrimary_ = primary;
  return Status::Ok();
}

Result<std::string> KubeActuator::Save(const plan::ClusterState& state, uint64_t term) {
  term_ = term;
  if (deposedBy_ > term)
    return Result<std::string>::Error("deposed: a pod carries term " + std::to_string(deposedBy_));
  // What this write asks to be fenced that the last state did not.
  std::set<std::string> before = FencedInstances(last_), fence;
  for (const auto& n : FencedInstances(state))
    if (!before.count(n)) fence.insert(n);
  auto saved = status_.Save(state, term);
  if (!saved.ok()) return saved;
  last_ = state;
  MirrorToRegister(state, term);  // §4.1: best effort, returns at once
  if (fence.empty()) return saved;
  // §4.1: the write completes only once those pods are labelled fenced.
  if (Status l = LabelPods(state, term, fence); !l.ok())
    return Result<std::string>::Error("state durable, but the fence label did not land (nothing more this round): " +
                                      l.message());
  return *saved + "; pods labelled fenced: " + Join(fence);
}

Status KubeActuator::BeforeActions(const plan::ClusterState& state, uint64_t term, const plan::Observation& obs,
                                   Actuator& actuator) {
  term_ = term;
  ReadWatchdogView(obs, actuator);
  if (deposedBy_ > term) return Status::Error("deposed: a pod carries term " + std::to_string(deposedBy_));
  Actuator* act = &actuator;
  actuator.SetPromoteGuard([this, act](const plan::Action& a, const plan::Observation& o) {
    return CheckPromote(a, o, *act);
  });
  actuator.SetStartGuard([this](const plan::Action& a, const plan::Observation& o) {
    const plan::NodeObservation* n = o.Find(a.node);
    const std::string why = n ? SelfFencedStartHold(*n) : "";
    return why.empty() ? Status::Ok() : Status::Error(why);
  });
  {
    // The starts as the primary the planner would plan (the recorded primary,
    // or any instance while none is recorded) that are held: not planned at all
    // (StartHolds), each hold logged and recorded once per change. The status
    // shows the recorded primary's hold as the wait.
    startHolds_.clear();
    for (const auto& n : obs.nodes) {
      if (n.pgReachable || (!state.primary.empty() && n.name != state.primary)) continue;
      if (std::string why = SelfFencedStartHold(n); !why.empty()) startHolds_[n.name] = std::move(why);
    }
    const auto held = startHolds_.find(state.primary);
    const std::string why = held == startHolds_.end() ? "" : held->second;
    std::lock_guard<std::mutex> lock(mu_);
    selfFenceWait_ = why.empty() ? std::nullopt : std::optional<Wait>(Wait{"NoConsensus", why, false});
  }
  // A pod stamped by a newer controller: write nothing at all.
  auto pods = ReadPods();
  if (!pods.ok()) return Status::Error(pods.error());
  if (Status d = CheckDeposed(*pods, term); !d.ok()) return d;
  JudgeCandidate(term, state, obs, actuator);
  CheckParameters(term, state, obs, actuator);
  if (Status a = ApplyOwnedObjects(term); !a.ok()) spdlog::warn("{}/{}: {}", ns_, name_, a.message());
  SendTerm(term, obs, actuator);
  SendSpec(term, obs, actuator);
  RaiseTermForSelfFenced(term, obs);
  RequestManualFence(state);
  // Labels follow the state; the fence labels it asks for gate every action.
  Status labelled = LabelPods(state, term, FencedInstances(state));
  if (!labelled.ok()) return labelled;
  HandleNodeLoss(state, *pods, obs);
  MaybeInit(state, term, obs, actuator);
  StopManuallyFenced(state, term, obs, actuator);
  return HoldForFencedPrimary(state, term, obs, actuator);
}

std::optional<Wait> KubeActuator::NodeLossWait() {
  std::lock_guard<std::mutex> lock(mu_);
  return nodeLossWait_;
}

std::optional<Wait> KubeActuator::SelfFenceWait() {
  std::lock_guard<std::mutex> lock(mu_);
  return selfFenceWait_;
}

std::string KubeActuator::SelfFencedStartHold(const plan::NodeObservation& o) {
  const std::string why = WhyHoldSelfFencedStart(o, watchdog_);
  std::string& logged = selfFenceLogged_[o.name];
  if (why != logged) {
    if (!why.empty())
      spdlog::info("{}/{}: not starting {} as the primary, no new term asked for it: {}", ns_, name_, o.name, why);
    else
      spdlog::info("{}/{}: {} may start as the primary again: the watchdog leader counts it live", ns_, name_,
                   o.name);
    if (record_) record_(why.empty() ? "self-fence-released" : "self-fence-hold", o.name,
                         why.empty() ? "the watchdog leader counts it live" : why);
    logged = why;
  }
  return why;
}

std::pair<bool, bool> KubeActuator::ReadNodeTaint(const std::string& node) {
  auto r = client_->Get(ResourcePath("", "v1", "nodes", "", node));
  if (!r.ok()) return {false, false};
  if (r->code == 404) return {false, true};
  if (r->code == 403) {
    if (!nodesDenied_)
      spdlog::warn("{}/{}: RBACDenied: get nodes ({}): the out-of-service taint is not seen, lost instances are "
                   "judged by their silence alone", ns_, name_, r->Describe());
    nodesDenied_ = true;
    return {false, false};
  }
  if (!r->ok() || !r->body.has_object_field("spec") || !r->body.at("spec").has_array_field("taints"))
    return {false, false};
  for (const auto& t : r->body.at("spec").at("taints").as_array())
    if (t.has_string_field("key") && t.at("key").as_string() == kOutOfServiceTaint) return {true, false};
  return {false, false};
}

void KubeActuator::HandleNodeLoss(const plan::ClusterState& state, const std::vector<PodMeta>& pods,
                                  const plan::Observation& obs) {
  auto res = Resource(nullptr);
  if (!res) return;
  const auto now = now_ ? now_() : std::chrono::steady_clock::now();
  NodeLossInputs in;
  in.policy = res->nodeLossPolicy;
  in.gracePeriod = res->nodeLossGracePeriod;
  in.podDeletionTimeout = res->podDeletionTimeout;
  std::map<std::string, std::pair<bool, bool>> nodes;  // read once per round
  for (const auto& n : res->spec.nodes) {
    NodeLossInstance i;
    i.name = n.name;
    i.fenced = state.IsFenced(n.name);
    const plan::NodeObservation* o = obs.Find(n.name);
    i.answering = o && o->sidecarReachable;
    for (const auto& p : pods)
      if (p.name == n.name) {
        i.pod = p.name;
        i.podUid = p.uid;
        i.nodeName = p.nodeName;
        i.terminating = p.terminating;
        i.finalizers = p.finalizers;
      }
    // The pod deletion's time limit runs from the first decision about this pod.
    if (auto w = deletionWaitSince_.find(n.name); w != deletionWaitSince_.end() && w->second.uid == i.podUid)
      i.waitedFor = std::chrono::duration_cast<Millis>(now - w->second.since);
    if (i.answering || i.pod.empty()) {
      silentSince_.erase(n.name);
      if (i.answering) answered_[n.name] = i.podUid;
    } else if (i.fenced || answered_[n.name] == i.podUid) {
      // Timed once this pod's sidecar answered and then fell silent, or once the
      // planner fenced the instance: a pod that never ran (pending, pulling its
      // image, bootstrapping) is not lost.
      auto it = silentSince_.find(n.name);
      if (it == silentSince_.end() || it->second.uid != i.podUid)
        it = silentSince_.insert_or_assign(n.name, Silence{i.podUid, now}).first;
      i.silentFor = std::chrono::duration_cast<Millis>(now - it->second.since);
    }
    if (!i.answering && !i.nodeName.empty()) {
      if (!nodes.count(i.nodeName)) nodes[i.nodeName] = ReadNodeTaint(i.nodeName);
      std::tie(i.nodeOutOfService, i.nodeGone) = nodes[i.nodeName];
    }
    in.instances.push_back(i);
  }
  std::string waits;
  bool stuck = false;
  std::set<std::string> decided;
  for (const NodeLossDecision& d : DecideNodeLoss(in)) {
    decided.insert(d.instance);
    auto since = deletionWaitSince_.find(d.instance);
    if (since == deletionWaitSince_.end() || since->second.uid != d.podUid)
      deletionWaitSince_.insert_or_assign(d.instance, Silence{d.podUid, now});
    const bool logged = nodeLossLogged_[d.instance] == d.reason;
    nodeLossLogged_[d.instance] = d.reason;
    if (d.step == NodeLossStep::kWaitForDeletion) {
      waits += (waits.empty() ? "" : "; ") + d.reason;
      stuck = stuck || d.timedOut;
      if (logged) continue;
      spdlog::warn("{}/{}: node loss: {}", ns_, name_, d.reason);
      Emit("Warning", d.timedOut ? "PodDeletionTimedOut" : "WaitingForPodDeletion", "NodeLoss", d.reason);
      if (record_) record_(d.timedOut ? "pod-deletion-timed-out" : "wait-for-pod-deletion", d.instance, d.reason);
      continue;
    }
    spdlog::warn("{}/{}: node loss: {}", ns_, name_, d.reason);
    auto r = client_->Delete(ResourcePath("", "v1", "pods", ns_, d.pod), DeleteOptionsFor(d.podUid, "", 0));
    std::string outcome;
    bool ok = false;
    if (!r.ok()) outcome = "not deleted: " + r.error();
    else if (r->ok() || r->code == 404) ok = true, outcome = r->ok() ? "deleted" : "already gone";
    else if (r->code == 409) outcome = "not deleted: the uid precondition failed (the pod was recreated since read)";
    else outcome = "not deleted: " + r->Describe();
    spdlog::info("{}/{}: node loss: pod {} (uid {}) {}", ns_, name_, d.pod, d.podUid, outcome);
    Emit("Warning", ok ? "PodForceDeleted" : "PodForceDeleteFailed", "NodeLoss",
         d.reason + ": " + outcome);
    if (record_) record_("force-delete-pod", d.instance, d.reason + ": " + outcome);
    if (ok) silentSince_.erase(d.instance);  // its new pod is timed afresh
  }
  for (auto it = nodeLossLogged_.begin(); it != nodeLossLogged_.end();) {
    if (decided.count(it->first)) {
      ++it;
      continue;
    }
    spdlog::info("{}/{}: node loss: {} is no longer lost, or its pod is gone", ns_, name_, it->first);
    it = nodeLossLogged_.erase(it);
  }
  for (auto it = deletionWaitSince_.begin(); it != deletionWaitSince_.end();)
    it = decided.count(it->first) ? std::next(it) : deletionWaitSince_.erase(it);
  std::lock_guard<std::mutex> lock(mu_);
  if (waits.empty()) nodeLossWait_.reset();
  else nodeLossWait_ = Wait{"WaitingForPodDeletion", waits, stuck};
}

void KubeActuator::MirrorToRegister(const plan::ClusterState& state, uint64_t term) {
  auto res = Resource(nullptr);
  if (!res) return;
  std::vector<std::string> urls;
  if (const NodeSpec* leader = res->spec.FindNode(watchdog_.leader)) urls.push_back(res->spec.ApiUrl(*leader));
  for (const auto& n : res->spec.nodes)
    if (n.name != watchdog_.leader) urls.push_back(res->spec.ApiUrl(n));
  std::string token;
  {
    std::lock_guard<std::mutex> lock(mu_);
    token = sidecarToken_;
  }
  mirror_->Offer(EncodeClusterState(state), term, std::move(urls), std::move(token));
}

void KubeActuator::RunOwn(plan::Action a, uint64_t term, const plan::Observation& obs, Actuator& actuator) {
  spdlog::info("{}/{}: {} {}: {}", ns_, name_, plan::ToString(a.kind), a.node, a.reason);
  for (const auto& r : actuator.Run({a}, term, obs, [] { return true; })) {
    if (!r.ok) spdlog::warn("{}/{}: {} {}: {}", ns_, name_, plan::ToString(a.kind), a.node, r.detail);
    Decided(plan::ToString(r.action.kind), a.node, a.reason, r.ok, r.detail);
  }
}

Status KubeActuator::HoldForFencedPrimary(const plan::ClusterState& state, uint64_t term,
                                          const plan::Observation& obs, Actuator& actuator) {
  const std::string& p = state.primary;
  if (!fencedPrimary_.empty() && fencedPrimary_ != p) {
    // Recorded for a primary the state no longer names (failed over since).
    if (Status r = RecordFencedPrimary("", term); !r.ok()) spdlog::warn("{}/{}: {}", ns_, name_, r.message());
  }
  if (p.empty()) return Status::Ok();
  FencedPrimaryInputs in;
  const auto fenced = ManuallyFenced();
  in.fenced = std::find(fenced.begin(), fenced.end(), p) != fenced.end();
  in.stoppedByUs = fencedPrimary_ == p;
  for (const auto& x : obs.nodes)
    if (x.name == p) in.node = &x;
  in.seenDownByMajority = obs.watchdog.SeenDownByMajority(p);  // the planner's ConsensusDown
  std::string why;
  FencedPrimaryStep step = DecideFencedPrimary(in, &why);
  // A restart that does not bring it back within a minute is the planner's.
  const auto now = std::chrono::steady_clock::now();
  if (in.fenced) unfencedAt_ = {};
  else if (in.stoppedByUs && unfencedAt_ == std::chrono::steady_clock::time_point{}) unfencedAt_ = now;
  if ((step == FencedPrimaryStep::kWait || step == FencedPrimaryStep::kStart) &&
      now - unfencedAt_ > std::chrono::seconds(60)) {
    step = FencedPrimaryStep::kRelease;
    why = p + " was unfenced a minute ago and is not back as the primary: the planner takes over";
  }
  if (why != fencedPrimaryLogged_ && step != FencedPrimaryStep::kNone) {
    spdlog::info("{}/{}: fenced primary: {} ({})", ns_, name_, why, ToString(step));
    fencedPrimaryLogged_ = why;
  }
  switch (step) {
    case FencedPrimaryStep::kNone:
      return Status::Ok();
    case FencedPrimaryStep::kRelease:
      // Cleared by CAS; if that fails the next round reads it again and, the
      // primary being back or the planner's, releases and clears again.
      if (Status r = RecordFencedPrimary("", term); !r.ok()) spdlog::warn("{}/{}: {}", ns_, name_, r.message());
      fencedPrimary_.clear();
      unfencedAt_ = {};
      return Status::Ok();
    case FencedPrimaryStep::kStop: {
      // Durable before the stop: a new leader then starts it in place once it
      // is unfenced, instead of failing it over.
      if (Status r = RecordFencedPrimary(p, term); !r.ok())
        return Status::Error(why + " (not stopped yet: " + r.message() + ")");
      plan::Action a;
      a.kind = plan::ActionKind::kStop;
      a.node = p;
      a.stopMode = "fast";
      a.reason = why;
      RunOwn(a, term, obs, actuator);
      return Status::Error(why);
    }
    case FencedPrimaryStep::kStart: {
      plan::Action a;
      a.kind = plan::ActionKind::kStart;
      a.node = p;
      a.reason = why;
      RunOwn(a, term, obs, actuator);
      return Status::Error(why);
    }
    case FencedPrimaryStep::kHold:
      if (in.fenced && in.node && in.node->sidecarReachable && !in.node->postgresRunning)
        if (Status r = RecordFencedPrimary(p, term); !r.ok()) spdlog::warn("{}/{}: {}", ns_, name_, r.message());
      return Status::Error(why);
    case FencedPrimaryStep::kWait:
      return Status::Error(why);
  }
  return Status::Ok();
}

void KubeActuator::StopManuallyFenced(const plan::ClusterState& state, uint64_t term, const plan::Observation& obs,
                                      Actuator& actuator) {
  for (const auto& n : ManuallyFenced()) {
    // Once its detach is durable (the planner neither routes nor recovers a
    // detached instance, so it stays stopped); the planner refuses to detach
    // the primary, which stays running (README).
    if (!state.IsDetached(n) || n == state.primary) continue;
    const plan::NodeObservation* o = nullptr;
    for (const auto& x : obs.nodes)
      if (x.name == n) o = &x;
    if (!o || !o->sidecarReachable || !o->postgresRunning) continue;
    if (o->operation && o->operation->state == plan::OperationState::kRunning) continue;
    plan::Action a;
    a.kind = plan::ActionKind::kStop;
    a.node = n;
    a.stopMode = "fast";
    a.reason = std::string(kFencedInstancesAnnotation) + " names " + n +
               " and it is detached: stop its PostgreSQL (the pod stays, not Ready)";
    RunOwn(a, term, obs, actuator);
  }
}

std::optional<plan::WatchdogView> KubeActuator::LeaderWatchdogView(const plan::Observation& obs,
                                                                  Actuator& actuator) {
  (void)actuator;
  for (const auto& n : obs.nodes) {
    if (!n.sidecarReachable) continue;
    auto r = QuickSidecar(n.name).Get("/v1/watchdog");
    if (!r.ok() || r->status != 200) continue;
    const std::optional<WatchdogDetail> d = DecodeWatchdogDetail(r->body, n.name);
    if (!d || d->state != "LEADER") continue;
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now().time_since_epoch()).count();  // as the Reconciler
    return WatchdogViewOf(*d, now);
  }
  return std::nullopt;
}

RestClient& KubeActuator::QuickSidecar(const std::string& node) {
  auto res = Resource(nullptr);
  const NodeSpec* n = res ? res->spec.FindNode(node) : nullptr;
  const std::string url = n ? res->spec.ApiUrl(*n) : "http://invalid";
  auto& slot = quick_[node];
  if (!slot || slot->baseUrl() != url)  // a new spec may move it
    slot = std::make_unique<RestClient>(url, "", kQuickReadTimeout);
  return *slot;
}

void KubeActuator::ReadWatchdogView(const plan::Observation& obs, Actuator& actuator) {
  watchdog_ = LeaderWatchdogView(obs, actuator).value_or(plan::WatchdogView{});
}

void KubeActuator::MaybeInit(const plan::ClusterState& state, uint64_t term, const plan::Observation& obs,
                             Actuator& actuator) {
  auto res = Resource(nullptr);
  if (!res) return;
  const InitDecision d = DecideInit(res->spec, state, obs, watchdog_);
  if (d.node.empty()) {
    if (!initOpId_.empty()) {
      // Done, or no longer to be sent now (a failed one is sent again once
      // DecideInit allows it: kube_init.cc).
      spdlog::info("{}/{}: init {} on {} no longer followed: {}", ns_, name_, initOpId_, initNode_, d.reason);
      initOpId_.clear();
    }
    initReason_.clear();
    return;
  }
  if (!initOpId_.empty()) {  // sent earlier: how is it doing?
    auto r = actuator.Sidecar(initNode_).Get("/v1/node/operations/" + initOpId_);
    if (!r.ok()) return;  // not reachable this round
    const SidecarOperation o = r->status == 200 ? SidecarOperationFromJson(r->body) : SidecarOperation();
    if (r->status == 200 && o.state != "failed") return;  // running, or succeeded and not observed yet
    std::string why = r->status == 404 ? "unknown to the sidecar (restarted?)"
                      : o.state == "failed" && !o.error.empty() ? "failed: " + o.error
                                                                  : "HTTP " + std::to_string(r->status);
    spdlog::warn("{}/{}: init {} on {} {}; sending init again", ns_, name_, initOpId_, initNode_, why);
    initOpId_.clear();
  }
  if (d.reason != initReason_) spdlog::info("{}/{}: {} (term {})", ns_, name_, d.reason, term);
  initReason_ = d.reason;
  auto r = actuator.Sidecar(d.node).Post("/v1/node/init", ToJson(NodeOperationRequestInTerm(term)));
  if (!r.ok()) {
    spdlog::warn("{}/{}: init of {}: {}", ns_, name_, d.node, r.error());
    return;
  }
  const NodeOperationStarted started = NodeOperationStartedFromJson(r->body);
  if (r->status != 202 || started.id.empty()) {
    spdlog::warn("{}/{}: {} refused init: HTTP {} {}", ns_, name_, d.node, r->status, r->text);
    return;
  }
  initNode_ = d.node;
  initOpId_ = started.id;
  spdlog::info("{}/{}: init sent to {} under term {} (operation {})", ns_, name_, d.node, term, initOpId_);
}

void KubeActuator::AfterActions(const plan::ClusterState& state, uint64_t term, const plan::Observation&,
                                Actuator&) {
  if (Status l = LabelPods(state, term, {}); !l.ok()) spdlog::warn("{}/{}: pod labels: {}", ns_, name_, l.message());
}

std::string SpecChangeWhy(const ClusterSpec* before, const ClusterSpec& now, uint64_t term) {
  if (!before) return "the spec as this controller first applies it";
  const std::string at = FirstDifferenceBesides(*before, now, {});
  if (at.empty()) return "the same spec again under term " + std::to_string(term);
  return "the rendered spec changed at " + at;
}

Status KubeActuator::ApplyOwnedObjects(uint64_t term) {
  std::string key;
  auto res = Resource(&key);
  if (!res) return Status::Ok();  // no accepted resource handed over (yet)
  if (key == refusedKey_) {  // its parameters were refused: the last applied resource stays
    if (!appliedResource_) return Status::Ok();
    res = appliedResource_;
    key = appliedKey_;
  }
  const std::string signature = key + "/" + std::to_string(term);
  if (signature == applied_) return Status::Ok();
  RenderOptions o;
  std::string why;
  {
    std::lock_guard<std::mutex> lock(mu_);
    o.uid = uid_;
    why = resourceWhy_;
  }
  o.term = term;
  // A new generation for every full apply (a new resource or a new term): the
  // sidecars take a pushed spec only when its generation is newer.
  o.specGeneration = KubeSpecGeneration(term, ++specCount_);
  for (const RenderedObject& obj : RenderOwnedObjects(*res, o)) {
    auto r = client_->Apply(obj.path, obj.object, kFieldManager, true);
    if (!r.ok()) return Status::Error("apply " + obj.kind + " " + obj.name + ": " + r.error());
    if (!r->ok()) return Status::Error("apply " + obj.kind + " " + obj.name + ": " + r->Describe());
  }
  applied_ = signature;
  specGeneration_ = o.specGeneration;
  specWhy_ = SpecChangeWhy(appliedSpec_ ? &*appliedSpec_ : nullptr, res->spec, term) + " (" + why + ")";
  appliedSpec_ = res->spec;
  appliedResource_ = res;
  appliedKey_ = key;
  spdlog::info("{}/{}: owned objects applied under term {} (spec generation {}, {} members: {})", ns_, name_, term,
               specGeneration_, res->spec.nodes.size(), specWhy_);
  Emit("Normal", "OwnedObjectsApplied", "Apply",
       "ConfigMap, Services, PodDisruptionBudget and StatefulSet applied under term " + std::to_string(term));
  return Status::Ok();
}

void KubeActuator::SendTerm(uint64_t term, const plan::Observation& obs, Actuator& actuator) {
  auto res = Resource(nullptr);
  if (!res) return;
  const value body = ToJson(TermRequest{term});
  for (const auto& n : res->spec.nodes) {
    auto it = termSent_.find(n.name);
    if (it != termSent_.end() && it->second >= term) continue;
    // Only sidecars this round's look reached: a dead pod's would cost a
    // connect timeout every round.
    const plan::NodeObservation* o = obs.Find(n.name);
    if (!o || !o->sidecarReachable) continue;
    auto r = actuator.Sidecar(n.name).Post("/v1/node/term", body);
    if (!r.ok()) continue;  // not reachable: again next round
    if (r->status / 100 == 2) {
      termSent_[n.name] = term;
    } else {
      spdlog::warn("{}/{}: sidecar {} refused term {}: HTTP {} {}", ns_, name_, n.name, term, r->status, r->text);
    }
  }
}

void KubeActuator::RaiseTermForSelfFenced(uint64_t term, const plan::Observation& obs) {
  for (const auto& o : obs.nodes) {
    if (!o.sidecarReachable || o.selfFencedInTerm == 0 || o.selfFencedInTerm < term) continue;
    // A new term lets its sidecar run PostgreSQL again: not before the
    // watchdog counts it live, or it fences itself again (and again).
    if (!SelfFencedStartHold(o).empty()) continue;
    const std::string why = o.name + " fenced its PostgreSQL itself in term " + std::to_string(o.selfFencedInTerm) +
                            " (its write lease ran out while primary) and runs it again only for a newer term";
    auto it = raisedFor_.find(o.name);
    if (it == raisedFor_.end() || it->second != o.selfFencedInTerm) {
      spdlog::info("{}/{}: {}: asking for a term above {} (acting in term {})", ns_, name_, why,
                   o.selfFencedInTerm, term);
      raisedFor_[o.name] = o.selfFencedInTerm;
    }
    if (raise_) raise_(o.selfFencedInTerm, ns_ + "/" + name_ + ": " + why);
  }
}

Result<std::vector<PodMeta>> KubeActuator::ReadPods() {
  auto list = client_->List(ResourcePath("", "v1", "pods", ns_),
                            "labelSelector=" + QueryEscape(std::string(kClusterLabel) + "=" + name_));
  if (!list.ok()) return Result<std::vector<PodMeta>>::Error("list pods: " + list.error());
  std::vector<PodMeta> pods;
  for (const value& item : list->items) {
    if (!item.has_object_field("metadata")) continue;
    const value& m = item.at("metadata");
    PodMeta p;
    p.name = m.has_string_field("name") ? m.at("name").as_string() : "";
    p.resourceVersion = m.has_string_field("resourceVersion") ? m.at("resourceVersion").as_string() : "";
    p.labels = StringMap(m, "labels");
    p.annotations = StringMap(m, "annotations");
    p.uid = m.has_string_field("uid") ? m.at("uid").as_string() : "";
    p.terminating = m.has_field("deletionTimestamp") && !m.at("deletionTimestamp").is_null();
    if (m.has_array_field("finalizers"))
      for (const auto& f : m.at("finalizers").as_array())
        if (f.is_string()) p.finalizers.push_back(f.as_string());
    if (item.has_object_field("spec") && item.at("spec").has_string_field("nodeName"))
      p.nodeName = item.at("spec").at("nodeName").as_string();
    pods.push_back(std::move(p));
  }
  return pods;
}

Status KubeActuator::CheckDeposed(const std::vector<PodMeta>& pods, uint64_t term) {
  for (const auto& p : pods) {
    if (uint64_t t = PodTerm(p); t > term) {
      deposedBy_ = std::max(deposedBy_, t);
      spdlog::warn("{}/{}: deposed: pod {} carries term {} above {}; writing nothing more", ns_, name_, p.name, t,
                   term);
      if (deposed_) deposed_(t);
      return Status::Error("deposed: pod " + p.name + " carries term " + std::to_string(t));
    }
  }
  return Status::Ok();
}

Status KubeActuator::LabelPods(const plan::ClusterState& state, uint64_t term,
                               const std::set<std::string>& mustBeFenced) {
  term_ = term;
  auto res = Resource(nullptr);
  if (!res) return Status::Ok();
  LabelInputs in;
  in.state = state;
  in.term = term;
  in.instances = Instances(*res);
  in.manuallyFenced = ManuallyFenced();
  in.liveness = LivenessFromWatchdog(watchdog_, in.instances);
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto pods = ReadPods();
    if (!pods.ok()) return Status::Error(pods.error());
    if (afterPodRead_) afterPodRead_();
    if (Status d = CheckDeposed(*pods, term); !d.ok()) return d;
    auto patches = PodLabelPatches(in, *pods);
    if (!patches.ok()) return Status::Error(patches.error());
    bool conflict = false;
    std::map<std::string, PodRole> landed;
    for (const auto& p : *pods) {
      auto it = p.labels.find(kRoleLabel);
      if (it != p.labels.end() && it->second == ToString(PodRole::kFenced)) landed[p.name] = PodRole::kFenced;
    }
    for (const PodPatch& p : *patches) {
      auto r = client_->MergePatch(ResourcePath("", "v1", "pods", ns_, p.pod), p.patch);
      if (!r.ok()) return Status::Error("label pod " + p.pod + ": " + r.error());
      if (r->code == 409) {  // it moved since it was read: read again, patch again
        conflict = true;
        break;
      }
      if (!r->ok()) return Status::Error("label pod " + p.pod + ": " + r->Describe());
      spdlog::info("{}/{}: pod {} labelled {} (term {}, routing generation {})", ns_, name_, p.pod,
                   ToString(p.role), term, state.routingGeneration);
      landed[p.pod] = p.role;
      if (p.patch.at("metadata").has_object_field("labels") &&
          p.patch.at("metadata").at("labels").has_field(kRoleLabel))
        Emit(p.role == PodRole::kFenced ? "Warning" : "Normal", "PodRoleChanged", "Label",
             "pod " + p.pod + " labelled " + kRoleLabel + "=" + ToString(p.role) + " (term " + std::to_string(term) +
                 ", routing generation " + std::to_string(state.routingGeneration) + ")");
    }
    if (conflict) continue;
    for (const auto& n : mustBeFenced) {
      bool exists = false;
      for (const auto& p : *pods) exists = exists || p.name == n;
      if (exists && (!landed.count(n) || landed[n] != PodRole::kFenced))
        return Status::Error("pod " + n + " is not labelled fenced");
    }
    return Status::Ok();
  }
  return Status::Error("pod labels: the pods kept changing (409 twice)");
}

Status KubeActuator::CheckPromote(const plan::Action& a, const plan::Observation& obs, Actuator& actuator) {
  if (deposedBy_ > term_) return Status::Error("deposed: a pod carries term " + std::to_string(deposedBy_));
  auto res = Resource(nullptr);
  if (!res) return Status::Ok();
  // A failover's old primary, which may still run somewhere. (A switchover
  // promotes only after its old primary was seen stopped; the proxies are
  // paused meanwhile and may still name it.)
  if (last_.transition.kind != plan::TransitionKind::kFailover) return Status::Ok();
  const std::string old = last_.transition.from;
  if (old.empty() || old == a.node) return Status::Ok();
  // §6 (ii): a majority of the members route without `old` as primary, so
  // none of them acknowledges its write lease again.
  const size_t members = res->spec.nodes.size(), majority = members / 2 + 1;
  size_t accepted = 0;
  std::string seen;
  for (const auto& n : res->spec.nodes) {
    const plan::NodeObservation* o = obs.Find(n.name);
    if (!o || !o->sidecarReachable) continue;
    auto r = actuator.Sidecar(n.name).Get("/v1/proxy/routing");
    if (!r.ok() || r->status != 200) continue;
    std::vector<std::string> notes;
    const Result<RoutingTable> table = RoutingTableFromJson(r->body, &notes);
    for (const auto& note : notes) spdlog::debug("{}: GET /v1/proxy/routing: {}", n.name, note);
    if (!table.ok()) continue;
    const std::string& primary = table->primary;
    if (primary != old) ++accepted;
    seen += (seen.empty() ? "" : ", ") + n.name + ": " + (primary.empty() ? "none" : primary);
  }
  if (accepted < majority)
    return Status::Error("routing without " + old + " accepted by " + std::to_string(accepted) + " of " +
                         std::to_string(members) + " sidecars, a majority is " + std::to_string(majority) +
                         (seen.empty() ? "" : " (primary seen: " + seen + ")"));
  // §6 (i): a majority reports `old` down, so its write lease has run out
  // (promote_check.h); the members' view read again now, not the planner's.
  PrimaryDownInputs in;
  in.old = old;
  in.members = members;
  in.deadTimeMs = res->spec.watchdog.deadTime.count();
  // Every reachable member's own view (the leader's among them): when the
  // crashed pod was the leader, the others' silence for deadTime is the
  // evidence, with no wait for a new leader (promote_check.h).
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now().time_since_epoch()).count();  // as the Reconciler
  for (const auto& n : obs.nodes) {
    if (!n.sidecarReachable) continue;
    auto r = QuickSidecar(n.name).Get("/v1/watchdog");
    if (!r.ok() || r->status != 200) continue;
    const std::optional<WatchdogDetail> d = DecodeWatchdogDetail(r->body, n.name);
    if (!d) continue;
    if (!in.leaderView && d->state == "LEADER") in.leaderView = WatchdogViewOf(*d, now);
    if (n.name == old || !res->spec.FindNode(n.name)) continue;
    const MemberHeard h = MemberHeardOf(*d, old);
    if (h.reported) in.heard.push_back({n.name, h.lastHeardMs, h.seeDown});
  }
  if (const plan::NodeObservation* o = obs.Find(old); o && o->sidecarReachable) {
    plan::NodeObservation now;
    if (ObserveSidecar(QuickSidecar(old), 0, &now).empty()) in.oldStopped = !now.postgresRunning;
  }
  const PromoteDecision d = CheckPrimaryDown(in);
  const std::string line = "promote of " + a.node + " in place of " + old + (d.allow ? " goes: " : " held back: ") +
                           d.reason + " (KUBERNETES.md 6 (i))";
  if (line != promoteDecision_) {  // once per distinct decision: the promote is retried every round
    if (d.allow) spdlog::info("{}/{}: {}", ns_, name_, line);
    else spdlog::warn("{}/{}: {}", ns_, name_, line);
    promoteDecision_ = line;
  }
  if (!d.allow) return Status::Error("a majority does not report " + old + " down yet: " + d.reason);
  return Status::Ok();
}

void KubeActuator::SetManualFence(const ManualFence& fence) {
  std::lock_guard<std::mutex> lock(mu_);
  manualFence_ = fence;
}

void KubeActuator::SetScaleLeaving(const std::string& instance) {
  std::lock_guard<std::mutex> lock(mu_);
  scaleLeaving_ = instance;
}

std::vector<std::string> KubeActuator::ManuallyFenced() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!resource_) return {};
  return manualFence_.Expand(Instances(*resource_));
}

void KubeActuator::RequestManualFence(const plan::ClusterState& state) {
  auto res = Resource(nullptr);
  if (!res || !request_) return;
  ManualFence fence;
  std::string leaving;
  {
    std::lock_guard<std::mutex> lock(mu_);
    fence = manualFence_;
    leaving = scaleLeaving_;
  }
  FenceChange change = ManualFenceChange(fence, state, Instances(*res), leaving);
  std::set<std::string> wanted;
  for (const auto& n : change.fence) wanted.insert("detach " + n);
  for (const auto& n : change.unfence) wanted.insert("attach " + n);
  for (const auto& w : wanted) {
    if (requested_.count(w)) continue;  // asked already; the state does not show it yet
    const std::string verb = w.substr(0, w.find(' ')), node = w.substr(w.find(' ') + 1);
    Status r = request_(verb, node);
    spdlog::info("{}/{}: {} {}: {} ({})", ns_, name_, kFencedInstancesAnnotation, verb, node,
                 r.ok() ? "requested" : r.message());
    Emit(r.ok() ? "Normal" : "Warning", verb == "detach" ? "ManualFence" : "ManualUnfence", EventReason(verb, true),
         std::string(kFencedInstancesAnnotation) + ": " + verb + " " + node + (r.ok() ? "" : ": " + r.message()));
  }
  requested_ = wanted;
}

void KubeActuator::Decided(const std::string& action, const std::string& node, const std::string& reason, bool ok,
                           const std::string& detail) {
  if (action == "event" && reason.empty()) return;
  std::string note = (node.empty() ? "" : node + ": ") + reason;
  if (!ok) note += " -- FAILED: " + detail;
  Emit(ok ? "Normal" : "Warning", EventReason(action, ok), EventReason(action, true), note);
}

void KubeActuator::Emit(const std::string& type, const std::string& reason, const std::string& action,
                        const std::string& note) {
  if (deposedBy_ > term_) return;  // a deposed controller writes nothing, Events included
  if (actingTerm_) {
    const uint64_t acting = actingTerm_();
    if (acting == 0 || acting != term_) {
      spdlog::info("{}/{}: Event {} not posted: this controller does not act in term {} now (acting term {})", ns_,
                   name_, reason, term_, acting);
      return;
    }
  }
  std::string uid;
  {
    // The controller's sync thread emits too (requests, rollout steps).
    std::lock_guard<std::mutex> lock(mu_);
    if (!events_.Allow(reason + "|" + note, EventLimiter::Clock::now())) return;
    uid = uid_;
  }
  EventRecord e;
  e.ns = ns_;
  e.regarding = value::object();
  e.regarding["apiVersion"] = value::string("pgvigil.io/v1alpha1");
  e.regarding["kind"] = value::string("PostgresCluster");
  e.regarding["name"] = value::string(name_);
  e.regarding["namespace"] = value::string(ns_);
  if (!uid.empty()) e.regarding["uid"] = value::string(uid);
  e.type = type;
  e.reason = reason;
  e.action = action;
  e.note = note;
  e.reportingInstance = reportingInstance_.empty() ? "pgvigil-controller" : reportingInstance_;
  auto r = PostEvent(client_, e);
  if (!r.ok()) spdlog::debug("{}/{}: event {}: {}", ns_, name_, reason, r.error());
  else if (!r->ok()) spdlog::debug("{}/{}: event {}: {}", ns_, name_, reason, r->Describe());
}

}  // namespace pgvigil::kube
