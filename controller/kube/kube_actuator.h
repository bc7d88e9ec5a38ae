// The Kubernetes actuator of one PostgresCluster (KUBERNETES.md §4.1, §4.2,
// §5, §6): what the acting controller does on the API server around the
// planner's actions, which the VM Actuator (controller/act) still carries out
// through the sidecars. It is the Reconciler's StateStore (the status, by
// CAS, through the StatusStore it owns) and its ActingHook:
//  - each acting round: server-side apply of the owned objects (fieldManager
//    pgvigil-controller, force) stamped with pgvigil.io/term, when the
//    resource or the term changed or an apply failed (each such apply gives
//    NAME-config a new spec generation); POST /v1/node/term to every reachable
//    sidecar that has not taken this term yet; PUT /v1/node/spec (that
//    generation, under the term) to every reachable member whose sidecar has not
//    answered for it yet, each push logged with why the spec changed and what
//    the sidecar did (applied live, unchanged, restartRequired); a push whose
//    parameters did not take (`failed`) is a Warning Event naming the pod and
//    setting, listed in the status, and sent again with backoff
//    (kube_actuator_spec.cc, spec_retry.h); the pod label patches of
//    kube_plan (each conditional on the pod's resourceVersion; a 409 re-reads
//    the pods once and patches again);
//  - a state write that moves a transition away from a primary, or adds to
//    `fenced`, completes only once those pods are labelled `fenced`: the
//    Actuator's next action (promote) waits for it; and a round whose loaded
//    state has an outgoing or fenced instance whose pod is not yet labelled
//    fenced runs no action until the label lands;
//  - bootstrap (§4.4): when DecideInit (kube_init.h) says so, POST
//    /v1/node/init under the term to that instance, the decision logged with
//    its reason; the operation is followed by its id and sent again (the agent
//    resumes or redoes an unfinished init) when it failed or was lost;
//  - pgvigil.io/pool from the watchdog leader's majority view (its sidecar's
//    GET /v1/watchdog), as kube_plan's LivenessFromWatchdog reads it;
//  - an instance that fenced itself in this term (its sidecar's
//    selfFence.fencedInTerm): a new term asked of the elector, since only a
//    newer term may rebuild it (§6 item 2);
//  - a pod carrying a pgvigil.io/term above this controller's term: deposed,
//    nothing more is written (the elector is told and campaigns again).
//  - the manual fence annotation: those pods labelled fenced, the instances
//    detached (the planner's operator detach: not routed; it refuses the
//    primary), then their PostgreSQL stopped (so /readiness fails and the pod
//    is not Ready); attached again when the name is removed, after which the
//    planner starts the stopped standby (follow or rewind as needed); a fenced
//    primary is stopped and nothing is acted on (no failover) until it is
//    unfenced and started again in place (fenced_primary.h); the primary it
//    stopped is recorded as status.fencedPrimary (by CAS, before the stop), so
//    a new leader also starts it in place rather than failing it over;
//  - capacity after node loss (node_loss.h, spec.nodeLossPolicy): a lost
//    instance's pod waited for (WaitingForPodDeletion) or, under
//    RecreateAfterFence once the instance is fenced, force-deleted (DELETE
//    with preconditions {uid}, gracePeriodSeconds 0); each decision logged
//    with its reason, an Event and a recorded decision;
//  - an Event (events.k8s.io, rate-limited) for each action the Reconciler
//    ran, each pod role change and each applied set of owned objects.
//  - before each promote of a failover (the Actuator's promote guard): §6
//    (ii), routing without the old primary accepted by a majority of the
//    sidecars, then §6 (i), a majority of the members reporting the old
//    primary down with its write lease over (promote_check.h, the watchdog
//    leader's view read again; the decision logged with its reason).
//  - after each state write (status CAS), the same document to the watchdog
//    register, best effort and off this thread (register_mirror.h).
// Reconcile thread only, except SetResource (any thread).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/node_spec_push.h"
#include "common/rest_client.h"
#include "controller/kube/cluster_resource.h"
#include "controller/kube/kube_client.h"
#include "controller/kube/kube_events.h"
#include "controller/kube/kube_plan.h"
#include "controller/kube/parameter_gate.h"
#include "controller/kube/register_mirror.h"
#include "controller/kube/status_store.h"
#include "controller/leadership.h"
#include "controller/plan/action.h"

namespace pgvigil::kube {

// Why a full apply gives NAME-config a new spec generation, for the log of
// the apply and of the pushes that follow: the first path where the rendered
// spec differs from the one applied before ("the rendered spec changed at
// spec.postgres.parameters.work_mem"), the same spec under a new term, or the
// first apply (`before` null). Pure.
std::string SpecChangeWhy(const ClusterSpec* before, const ClusterSpec& now, uint64_t term);

class KubeActuator : public StateStore, public ActingHook {
 public:
  // deposed(term): a newer term was seen on a pod; tell the elector.
  KubeActuator(KubeClient* client, std::string ns, std::string name, std::function<void(uint64_t)> deposed);

  // The accepted resource and the custom resource's uid (ownerReferences);
  // why: what changed, logged with the spec pushes that follow.
  void SetResource(const ClusterResource& resource, const std::string& uid, const std::string& why = "");
  // The sidecars' API token, for the register mirror's PUT (any thread).
  void SetSidecarToken(std::string token) {
    std::lock_guard<std::mutex> lock(mu_);
    sidecarToken_ = std::move(token);
  }
  StatusStore* status() { return &status_; }
  // The term a pod showed above ours (0: not deposed).
  uint64_t deposedBy() const { return deposedBy_; }

  Result<plan::ClusterState> Load() override;
  Result<std::string> Save(const plan::ClusterState& state, uint64_t term) override;

  Status BeforeActions(const plan::ClusterState& state, uint64_t term, const plan::Observation& obs,
                       Actuator& actuator) override;
  void AfterActions(const plan::ClusterState& state, uint64_t term, const plan::Observation& obs,
                    Actuator& actuator) override;
  // The primaries whose start BeforeActions found held (WhyHoldSelfFencedStart:
  // fenced by their own sidecar, the watchdog leader not counting them live),
  // with why: the planner does not plan their start (PlanInputs::startHolds).
  std::map<std::string, std::string> StartHolds() const override { return startHolds_; }
  // An Event on the PostgresCluster (rate-limited, EventLimiter), reason from
  // the action kind; none once deposed.
  void Decided(const std::string& action, const std::string& node, const std::string& reason, bool ok,
               const std::string& detail) override;
  // An Event about the cluster: "Normal" or "Warning", a CamelCase reason.
  // Also from the controller's sync thread (its limiter is under mu_).
  void Emit(const std::string& type, const std::string& reason, const std::string& action, const std::string& note);
  void SetReportingInstance(std::string identity) { reportingInstance_ = std::move(identity); }
  // Whether this controller acts now (the elector's acting term, non-zero
  // while it holds the Lease within its renew deadline). An Event reported
  // when it does not (an action that ended while the process was paused and
  // the Lease moved on) is dropped: a controller that no longer leads writes
  // nothing to the API. Unset: only a known deposition stops Events.
  void SetActingTerm(std::function<uint64_t()> acting_term) { actingTerm_ = std::move(acting_term); }
  // The manual fence (pgvigil.io/fenced-instances, parsed; any thread): its
  // pods are labelled fenced, and each acting round asks the Reconciler
  // (`request`: its RequestNode) to detach the fenced instances and attach the
  // ones no longer fenced, once per change.
  void SetManualFence(const ManualFence& fence);
  // The instance a scale-down is taking out (kube_scale.h), "" for none: the
  // manual fence does not attach it again while it leaves.
  void SetScaleLeaving(const std::string& instance);
  // How a new term is asked for (the elector's RaiseEpochAbove): `above`, and
  // why, logged with it.
  void SetTermRaiser(std::function<void(uint64_t above, const std::string& why)> raise) {
    raise_ = std::move(raise);
  }
  // An instance whose sidecar fenced its primary in `term` or later (its write
  // lease ran out, KUBERNETES.md §6 item 2) runs PostgreSQL again only for a
  // newer term: ask for one. Logged once per instance and fence term.
  void RaiseTermForSelfFenced(uint64_t term, const plan::Observation& obs);
  void SetNodeRequester(std::function<Status(const std::string& verb, const std::string& node)> request) {
    request_ = std::move(request);
  }
  // Where this actuator's own decisions (node loss) are recorded beside the
  // planner's: the Reconciler's RecordDecision (status.lastEvents, the report).
  void SetDecisionRecorder(std::function<void(const std::string& action, const std::string& node,
                                              const std::string& reason)> record) {
    record_ = std::move(record);
  }
  // Test seam: the clock node-loss silence is timed by (steady_clock by default).
  void SetClock(std::function<std::chrono::steady_clock::time_point()> now) { now_ = std::move(now); }
  // The node-loss wait of the last acting round (WaitingForPodDeletion naming
  // the pods), for the status summary; nullopt when none. Any thread.
  std::optional<Wait> NodeLossWait();
  // A primary its own sidecar fenced, held until the watchdog counts it live
  // (WhyHoldSelfFencedStart): NoConsensus with why, for the status summary;
  // nullopt when none. Any thread.
  std::optional<Wait> SelfFenceWait();

  // The steps, public for the tests.
  Status ApplyOwnedObjects(uint64_t term);
  // Patches every pod whose labels differ; then checks that each instance in
  // `mustBeFenced` whose pod exists carries role=fenced.
  Status LabelPods(const plan::ClusterState& state, uint64_t term, const std::set<std::string>& mustBeFenced);
  // POST /v1/node/term to each sidecar `obs` saw reachable that has not taken `term`.
  void SendTerm(uint64_t term, const plan::Observation& obs, Actuator& actuator);
  // PUT /v1/node/spec of the spec generation last applied to each member
  // `obs` saw reachable whose sidecar has not answered for it (again after it
  // was unreachable: it may have restarted).
  void SendSpec(uint64_t term, const plan::Observation& obs, Actuator& actuator);
  uint64_t specGeneration() const { return specGeneration_; }
  // The members whose sidecar answered the current generation's push `failed`
  // (postgres.parameters not taken), one line each: "demo-1:
  // spec.postgres.parameters.work_mem: <the sidecar's reason>"; for the status
  // (Degraded, ParametersNotApplied). Cleared once they take it or a newer
  // generation is applied. Any thread.
  std::vector<std::string> ParameterFailures();
  // Before a resource whose postgres.parameters differ from the applied ones
  // is rendered into NAME-config: a reachable sidecar (the primary's first)
  // checks them against its PostgreSQL's pg_settings (PUT /v1/node/spec with
  // "check": true, nothing applied there; controller/act/parameters_check.h,
  // which VM mode's PUT /v1/spec uses too). Refused: logged, a Warning Event
  // ParametersInvalid naming the setting and why, a recorded decision, and
  // ParametersRefused for the status (SpecValid=False); the owned objects and
  // the pushes stay at the last applied resource until a resource whose
  // parameters pass replaces it. When no sidecar can check (none running,
  // older sidecars), the resource goes ahead unchecked: the sidecars refuse
  // such values themselves and keep the last settings that took. Once per
  // resource version.
  void CheckParameters(uint64_t term, const plan::ClusterState& state, const plan::Observation& obs,
                       Actuator& actuator);
  // "spec.postgres.parameters.work_mem: <why>" while the accepted resource's
  // parameters stand refused, else "". Any thread.
  std::string ParametersRefused();
  // A generation not yet in force (parameter_gate.h) whose postgres.parameters
  // differ from the accepted resource's: the next acting round has a reachable
  // sidecar (the primary's first) check the spec in force with these
  // parameters (PUT /v1/node/spec, "check": true; nothing stored or applied
  // there) and keeps the verdict for CandidateVerdict; refused: logged, a
  // Warning Event ParametersInvalid naming the setting and why, a recorded
  // decision (check-parameters). A newer call replaces the candidate. Any thread.
  void CheckCandidate(int64_t generation, std::map<std::string, std::string> parameters);
  // A generation was taken into use: a candidate not newer than it is no longer
  // checked (a generation that replaced it was accepted first). Any thread.
  void DropCandidatesUpTo(int64_t generation);
  // The verdict on that generation, once reached. Any thread.
  std::optional<ParameterVerdict> CandidateVerdict(int64_t generation);
  // Called (on the Reconciler's thread) once a verdict is reached, so the
  // controller takes it up without waiting for its next sync.
  void SetVerdictListener(std::function<void()> listener) { verdictListener_ = std::move(listener); }
  // The candidate's check, each acting round, before anything is applied.
  void JudgeCandidate(uint64_t term, const plan::ClusterState& state, const plan::Observation& obs,
                      Actuator& actuator);
  // Installed as the Actuator's promote guard by BeforeActions: during a
  // failover (the state last loaded or written), §6 (ii), routing without the
  // old primary accepted by a majority of the members (their GET
  // /v1/proxy/routing names another primary or none), then §6 (i)
  // (CheckPrimaryDown on the watchdog leader's GET /v1/watchdog and, when the
  // old primary's sidecar answers, its GET /v1/status). Other promotes pass.
  Status CheckPromote(const plan::Action& a, const plan::Observation& obs, Actuator& actuator);
  // Bootstrap of an empty cluster: sends or follows the init operation.
  void MaybeInit(const plan::ClusterState& state, uint64_t term, const plan::Observation& obs, Actuator& actuator);
  // Test seam: called after each read of the pods in LabelPods, before any patch.
  void SetAfterPodRead(std::function<void()> f) { afterPodRead_ = std::move(f); }

 private:
  std::optional<ClusterResource> Resource(std::string* uid);
  Result<std::vector<PodMeta>> ReadPods();
  Status CheckDeposed(const std::vector<PodMeta>& pods, uint64_t term);

  KubeClient* const client_;
  const std::string ns_, name_;
  std::function<void(uint64_t)> deposed_;
  StatusStore status_;
  std::mutex mu_;
  std::optional<ClusterResource> resource_;  // guarded by mu_
  std::string uid_;                          // guarded by mu_
  uint64_t resourceVersion_ = 0;             // guarded by mu_: bumped by SetResource
  std::string resourceWhy_;                  // guarded by mu_: SetResource's why
  ManualFence manualFence_;                  // guarded by mu_
  // Reconcile thread only.
  plan::ClusterState last_;           // the newest state loaded or written
  std::string applied_;               // "<resource version>/<term>" last applied in full
  std::map<std::string, uint64_t> termSent_;  // node -> term its sidecar took
  // Spec generations (common/node_spec_push.h): one per full apply.
  uint64_t specCount_ = 0;
  uint64_t specGeneration_ = 0;               // of the last full apply; 0 none yet
  std::string specWhy_;                       // what that apply's resource changed
  std::optional<ClusterSpec> appliedSpec_;    // the spec of the last full apply
  std::optional<ClusterResource> appliedResource_;  // and its resource,
  std::string appliedKey_;                          // whose Resource key
  std::string checkedKey_;   // the resource key whose parameters were last checked
  std::string refusedKey_;   // that key, when its parameters were refused
  std::string parametersRefused_;  // guarded by mu_: ParametersRefused
  // The candidate generation and its parameters (CheckCandidate), its verdict.
  struct Candidate {
    int64_t generation = 0;
    std::map<std::string, std::string> parameters;
  };
  std::optional<Candidate> candidate_;        // guarded by mu_
  std::optional<ParameterVerdict> verdict_;   // guarded by mu_
  std::function<void()> verdictListener_;
  // The parameters a candidate's check passed or could not check: the resource
  // accepted with them is not checked again before it is applied.
  std::optional<std::map<std::string, std::string>> judgedParameters_;
  // A reachable sidecar (the primary's first) checks `spec`'s
  // postgres.parameters; kPassed, kRefused, or kUnchecked when none could.
  ParameterVerdict AskCheck(const ClusterSpec& spec, uint64_t term, const plan::ClusterState& state,
                            const plan::Observation& obs, Actuator& actuator);
  std::map<std::string, uint64_t> specSent_;  // node -> generation its sidecar answered for
  // A push its sidecar answered `failed`, sent again at `next` (spec_retry.h).
  struct SpecRetry {
    uint64_t generation = 0;
    int failures = 0;
    std::chrono::steady_clock::time_point next;
    std::string field, reason;  // of the last answer
  };
  std::map<std::string, SpecRetry> specRetry_;  // node -> its failed push
  std::vector<std::string> parameterFailures_;  // guarded by mu_: specRetry_ as ParameterFailures lines
  void SpecFailed(const std::string& node, const NodeSpecPushReply& reply, std::chrono::steady_clock::time_point now);
  void PublishParameterFailures();
  uint64_t deposedBy_ = 0;
  uint64_t term_ = 0;  // the term of the latest call
  std::function<uint64_t()> actingTerm_;
  std::string initNode_, initOpId_;  // the init operation sent and not yet seen to end
  std::string initReason_;           // the last init decision logged
  std::function<void()> afterPodRead_;
  EventLimiter events_;  // guarded by mu_
  std::string reportingInstance_;
  std::function<Status(const std::string&, const std::string&)> request_;
  std::set<std::string> requested_;  // "detach demo-1" asked and not yet in the state
  std::string scaleLeaving_;         // guarded by mu_
  // The watchdog leader's majority view this round (GET /v1/watchdog of the
  // sidecar that is LEADER; none: empty, every pod's liveness unknown):
  // pgvigil.io/pool follows it (LivenessFromWatchdog).
  plan::WatchdogView watchdog_;
  void ReadWatchdogView(const plan::Observation& obs, Actuator& actuator);
  // GET /v1/watchdog of the first reachable sidecar that is LEADER; none when none is.
  std::optional<plan::WatchdogView> LeaderWatchdogView(const plan::Observation& obs, Actuator& actuator);
  // A client for the token-free reads above (GET /v1/watchdog, /v1/status) with
  // a short timeout: a sidecar the round's look still saw (its host just cut
  // off) costs 1 s of the round, not the Actuator clients' 3 s.
  static constexpr std::chrono::milliseconds kQuickReadTimeout{1000};
  RestClient& QuickSidecar(const std::string& node);
  std::map<std::string, std::unique_ptr<RestClient>> quick_;  // by node
  std::string promoteDecision_;  // the last §6 (i) decision logged
  std::function<void(uint64_t, const std::string&)> raise_;
  std::map<std::string, uint64_t> raisedFor_;  // node -> the fence term a new term was asked for
  void RequestManualFence(const plan::ClusterState& state);
  // A manually fenced instance whose detach is durable and whose PostgreSQL
  // still runs: stop it (fast), as the planner's own stop action.
  void StopManuallyFenced(const plan::ClusterState& state, uint64_t term, const plan::Observation& obs,
                          Actuator& actuator);
  // A manually fenced primary (fenced_primary.h): stopped, and every action
  // held (an error for the round) while it is fenced; started again in place
  // once unfenced. The primary this controller stopped, and since when it is
  // unfenced (a restart is given a minute).
  Status HoldForFencedPrimary(const plan::ClusterState& state, uint64_t term, const plan::Observation& obs,
                              Actuator& actuator);
  // The primary stopped for the fence, as status.fencedPrimary holds it (read
  // by each Load, so a new leader knows it), written by RecordFencedPrimary.
  std::string fencedPrimary_;
  Status RecordFencedPrimary(const std::string& primary, uint64_t term);
  std::chrono::steady_clock::time_point unfencedAt_{};
  std::string fencedPrimaryLogged_;
  // Capacity after node loss (node_loss.h): each acting round, with the pods
  // just read, the sidecars' silence this controller timed and, for silent
  // instances, their nodes' out-of-service taint; waits reported, fenced lost
  // pods force-deleted. Silence is timed per pod uid (a recreated pod starts
  // afresh), from the first silent look after that pod's sidecar answered, or,
  // for an instance in `fenced`, from the first silent look this controller
  // had (a new leader's clock starts with its first round: never early).
  // A pod that never answered (pending, bootstrapping) is lost only by its
  // node's taint or absence.
  void HandleNodeLoss(const plan::ClusterState& state, const std::vector<PodMeta>& pods,
                      const plan::Observation& obs);
  // GET /api/v1/nodes/{name}: {out of service, gone}; unknown (false, false) on
  // any other answer (403 logged once: the namespaced Roles grant no nodes).
  std::pair<bool, bool> ReadNodeTaint(const std::string& node);
  struct Silence {
    std::string uid;  // the pod it was timed for
    std::chrono::steady_clock::time_point since;
  };
  std::map<std::string, Silence> silentSince_;         // instance -> since when its sidecar is silent
  // instance -> since when this controller decides about that pod (uid): its
  // podDeletionTimeout runs from there (node_loss.h).
  std::map<std::string, Silence> deletionWaitSince_;
  std::map<std::string, std::string> answered_;        // instance -> the pod uid whose sidecar last answered
  std::map<std::string, std::string> nodeLossLogged_;  // instance -> the decision last logged
  std::optional<Wait> nodeLossWait_;                   // guarded by mu_
  std::optional<Wait> selfFenceWait_;                  // guarded by mu_
  std::map<std::string, std::string> selfFenceLogged_;  // node -> the hold last logged ("" released)
  std::map<std::string, std::string> startHolds_;       // this round's held starts (StartHolds)
  // Why a start of `node` (a primary its own sidecar fenced) is held now, ""
  // when it is not; logs each change of the decision with its reason.
  std::string SelfFencedStartHold(const plan::NodeObservation& o);
  bool nodesDenied_ = false;                           // 403 on nodes logged
  std::function<std::chrono::steady_clock::time_point()> now_;
  std::function<void(const std::string&, const std::string&, const std::string&)> record_;
  // The register mirror (register_mirror.h) and the sidecars' API token for it.
  std::string sidecarToken_;  // guarded by mu_
  std::unique_ptr<RegisterMirror> mirror_;
  // Offers `state` (just written under `term`) to the mirror, the watchdog
  // leader's sidecar first.
  void MirrorToRegister(const plan::ClusterState& state, uint64_t term);
  // One action of this actuator's own through the Actuator, logged, with its Event.
  void RunOwn(plan::Action a, uint64_t term, const plan::Observation& obs, Actuator& actuator);
  std::vector<std::string> ManuallyFenced();
};

// The instances a state asks to be labelled fenced (state.fenced and the
// outgoing primary of an active transition once routing no longer names it).
std::set<std::string> FencedInstances(const plan::ClusterState& state);

}  // namespace pgvigil::kube
