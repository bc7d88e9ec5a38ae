// pgvigil-controller --kubernetes (KUBERNETES.md §4): watches PostgresClusters
// (list + watch) and runs one Reconciler per valid cluster, with the shared
// Lease elector and the cluster's status as its seams (kube_leadership.h,
// status_store.h); the planner is the VM one, unchanged.
// - A CR whose spec the converter or the validator refuses gets SpecValid=False
//   with "spec.path: reason" messages, and nothing else changes: a cluster
//   already running keeps its last accepted spec (also in a process that
//   starts meanwhile: the one NAME-config records), a new one gets no Reconciler.
//   A generation that changes postgres.parameters is taken into use only once
//   a sidecar of the acting controller found PostgreSQL would take them
//   (parameter_gate.h); until then nothing of it moves, and refused it is held
//   like a refused spec (SpecValid=False, reason ParametersInvalid).
// - While this controller leads, it also writes phase, phaseReason and the
//   conditions (kube_plan.h's SummarizeStatus), observedGeneration,
//   acceptedGeneration, instances, readyInstances and selector (by CAS, under
//   the durable term; for a running cluster on its Reconciler's thread),
//   status.report (the VM controller's GET /v1/status body, which
//   `vigilctl --kubeconfig ... status` renders) with, built from the same
//   status and at its cadence, instancesReportedState and lastEvents
//   (status_report.h), and status.lastRequest.
// - Operator requests (switchover, recover) come as the annotation
//   pgvigil.io/request (kube_request.h says how they travel).
// - Scaling (kube_scale.h): one step at a time towards spec.instances while it
//   acts, the members and replicas in force recorded in status.scale.
// - Rolling updates (kube_rollout.h, kube_rollout_sync.cc): while it acts and
//   no scale step is under way, pods not on the StatefulSet's update revision
//   are deleted one at a time (uid and resourceVersion preconditions), the
//   primary last after a switchover; status.rollout records the progress.
// Owned objects, the term to the sidecars, pod labels, Events and the manual
// fence annotation (parsed here, carried out there): kube_actuator.h.
// Not here yet: secrets re-read on change.
// Thread-safe: Start/Stop from one thread; it runs a watch and a sync thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "controller/kube/cluster_resource.h"
#include "controller/kube/elector.h"
#include "controller/kube/kube_actuator.h"
#include "controller/kube/kube_client.h"
#include "controller/kube/kube_plan.h"
#include "controller/kube/kube_request.h"
#include "controller/kube/kube_rollout.h"
#include "controller/kube/kube_scale.h"
#include "controller/kube/list_watch.h"
#include "controller/kube/parameter_gate.h"
#include "controller/kube/status_store.h"
#include "controller/reconciler.h"

namespace pgvigil::kube {

struct KubeControllerOptions {
  std::string watchNamespace;  // "" = every namespace
  ReconcilerOptions reconciler;  // pacing; token, credentials and spec come per cluster
  std::chrono::milliseconds syncPeriod{1000};
  int watchTimeoutSeconds = 5;  // also bounds how long Stop waits for the watch
  // status.report: lag, select counts and progress alone refresh it this often.
  std::chrono::milliseconds reportPeriod{10000};
  // Test seam: applied to each resource in force before the actuator and the
  // Reconciler get it (a test points the instances at sidecars on loopback).
  std::function<void(ClusterResource*)> adjustResource;
};

class KubeController {
 public:
  // The client and elector must outlive the controller.
  KubeController(KubeClient* client, LeaseElector* elector, KubeControllerOptions options);
  ~KubeController();
  KubeController(const KubeController&) = delete;
  KubeController& operator=(const KubeController&) = delete;

  void Start();
  void Stop();
  // "ns/name" of the clusters that have a Reconciler.
  std::vector<std::string> Running() const;
  // The status of a running cluster ("ns/name"), as GET /v1/status serves it
  // on VMs; nullopt when it has no Reconciler. Any thread.
  std::optional<ClusterStatus> ClusterStatusOf(const std::string& key) const;

 private:
  // A request to the planner (switchover, detach) sent once, and again after
  // 30 s if the state does not show it done by then (it may be refused or
  // aborted). Logged with `topic` and why.
  struct SentRequest {
    std::string what;
    std::chrono::steady_clock::time_point at;
  };
  // A generation the converter and validator accepted, not yet taken into use:
  // its postgres.parameters wait for the acting controller's check
  // (parameter_gate.h), or were refused by it.
  struct Candidate {
    int64_t generation = 0;
    web::json::value cr;
    ClusterResource resource;
  };
  struct Cluster {
    std::shared_ptr<Reconciler> reconciler;  // shared with REST threads (ClusterStatusOf)
    std::unique_ptr<StatusStore> summary;  // writes the summary while there is no Reconciler
    StatusStore* store = nullptr;          // the Reconciler's, which writes it otherwise
    KubeActuator* actuator = nullptr;      // the Reconciler's StateStore and ActingHook
    int64_t judgedGeneration = -1;         // the last generation converted and judged
    int64_t acceptedGeneration = -1;       // whose spec runs
    std::string refusal;                   // "spec.path: reason" lines; "" when valid
    std::optional<Candidate> candidate;    // a generation converted but not yet accepted
    std::string gateLogged;                // the parameter gate's decision as last logged
    // The spec in force looked up for this process's first spec (spec_in_force.h),
    // and that decision as last logged.
    bool inForceLooked = false;
    std::string inForceLogged;
    std::string parametersRefusal;         // the candidate's refused setting and why; "" for none
    std::map<std::string, std::string> acceptedParameters;  // postgres.parameters of the accepted spec
    int instances = 0;                     // spec.instances as written
    ReplicationSpec replication;           // of the accepted spec
    std::string written;                   // what the summary last wrote (not written again)
    ManualFence fence;                     // pgvigil.io/fenced-instances as last parsed
    std::vector<std::string> fenced;       // fence.Expand(instances)
    std::string fenceText, fenceError;     // the annotation as last read; its error
    // pgvigil.io/request (kube_request.h): the id (or, without one, the text)
    // this process handled, and the record for status.lastRequest.
    std::string handledRequest;
    web::json::value lastRequest;          // null until a request was handled here
    // A request recorded as accepted, handed to the Reconciler only once the
    // record is read back from the API server (durable): a new leader never
    // runs a request again that this one may have run (at most once).
    std::optional<OperatorRequest> handOff;
    uint64_t handOffTerm = 0;              // the acting term it was filed (recorded) under
    // status.report: the Reconciler's ClusterStatus in vigilctl's format,
    // replaced when its stable part changes (StablePart), else at most every
    // reportPeriod.
    web::json::value report;
    // status.instancesReportedState and status.lastEvents (status_report.h),
    // built with the report and written with it.
    web::json::value reportedState, lastEvents;
    std::string reportStable, reportFull;
    uint64_t reportSeq = 0;
    std::chrono::steady_clock::time_point reportAt;
    // Scaling (kube_scale.h): the accepted custom resource, its spec.instances, and
    // the members and StatefulSet replicas in force (status.scale); 0 = not known.
    web::json::value acceptedCr;
    int desired = 0;
    int members = 0, replicas = 0;
    std::string uid;
    std::optional<ScaleStep> scale;        // the last step decided while acting
    std::string scaleLogged;               // its reason, as last logged
    SentRequest scaleRequested;            // "switchover demo-4 demo-0", "detach demo-4"
    // Rolling updates (kube_rollout.h): the last step decided while acting, its
    // reason as last logged, the uid of the pod last deleted (not deleted twice),
    // the switchover last requested.
    std::optional<RolloutStep> rollout;
    std::string rolloutLogged;
    std::string rolloutDeletedUid;
    std::string updateRevision;  // the StatefulSet's status.updateRevision as last read
    SentRequest rolloutRequested;
  };
  void RequestOnce(SentRequest* sent, const std::string& key, const char* topic, const std::string& what,
                   const std::string& why, const std::function<Status()>& send);
  // What the Reconciler's last look saw of each instance (primary, streaming).
  static std::map<std::string, ScaleInstance> ObservedInstances(const ClusterStatus& s);
  void WatchLoop();
  void SyncLoop();
  void SyncOne(const std::string& key, const web::json::value& cr);
  // This process's first spec of a cluster whose current generation is not
  // the accepted one, or is refused: the spec NAME-config records is accepted
  // (a Reconciler on it) and c.candidate stays a candidate (c.refusal stays);
  // without a record the candidate is judged as the first spec, and a refused
  // generation starts nothing (spec_in_force.h). Logged with the reason.
  void StartOnSpecInForce(Cluster& c, const std::string& key, const web::json::value& cr);
  // c.candidate through the parameter gate (parameter_gate.h): accepted,
  // refused (held, nothing changes) or pending (its check asked of the actuator).
  void JudgeCandidate(Cluster& c, const std::string& key, const web::json::value& cr);
  // The candidate taken into use: a Reconciler for a new cluster, or the new
  // resource to the running one (Rescale); status.acceptedGeneration follows.
  void Accept(Cluster& c, const std::string& key, const Candidate& cand, const std::string& why);
  void WriteSummary(Cluster& c, const std::string& name, int64_t generation);
  // The accepted resource at the members and replicas in force, to the actuator
  // (owned objects) and the Reconciler (the planner's spec).
  Status Rescale(Cluster& c, const std::string& key, const std::string& why);
  // One scale step while this controller acts (kube_scale.h), carried out and logged.
  void SyncScale(Cluster& c, const std::string& key, const web::json::value& cr);
  // One rollout step while this controller acts (kube_rollout.h), carried out,
  // logged and recorded as an Event (kube_rollout_sync.cc).
  void SyncRollout(Cluster& c, const std::string& key, const web::json::value& cr);
  // pgvigil.io/fenced-instances: parsed when it changes; an error keeps the old fence.
  void SyncFence(Cluster& c, const std::string& key, const web::json::value& meta);
  // pgvigil.io/request: a request not yet in status.lastRequest goes to the
  // Reconciler while this controller acts; the outcome joins the summary.
  void SyncRequest(Cluster& c, const std::string& key, const web::json::value& cr);
  // c.handOff to the Reconciler, its record being durable under the term it
  // was filed under and this controller still acting under that term
  // (DecideHandOff); otherwise dropped, logged with the reason.
  void HandOffRequest(Cluster& c, const std::string& key, const HandOffDecision& h);
  // Refreshes c.report from the acting Reconciler's status (reportSeq counts).
  void SyncReport(Cluster& c);
  std::unique_ptr<Reconciler> MakeReconciler(const std::string& ns, const std::string& name,
                                             const ClusterSpec& spec, const std::vector<SecretMount>& secrets,
                                             KubeActuator** actuator);

  KubeClient* const client_;
  LeaseElector* const elector_;
  const KubeControllerOptions options_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  ListWatch::Cache cache_;  // guarded by mu_
  bool changed_ = false;    // guarded by mu_
  std::map<std::string, Cluster> clusters_;  // sync thread only (Running() under mu_)
  std::vector<std::string> running_;         // guarded by mu_
  std::map<std::string, std::shared_ptr<Reconciler>> runningReconcilers_;  // guarded by mu_
  std::thread watcher_, syncer_;
};

}  // namespace pgvigil::kube
