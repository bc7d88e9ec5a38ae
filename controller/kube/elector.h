// The Lease elector of KUBERNETES.md §4.2: a thread that makes the calls the
// pure ElectorCore (elector_step.h, where the safety argument is) asks for,
// against coordination.k8s.io/v1 Lease `pgvigil-controller` in the operator
// namespace, and answers "may this controller act, and under which term?".
// One per controller process, shared by every cluster's Reconciler.
// Thread-safe: the public methods may be called from any thread; the client
// must outlive the elector.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "controller/kube/elector_step.h"
#include "controller/kube/kube_client.h"

namespace pgvigil::kube {

// steady_clock in milliseconds: the clock MayAct and the expiry timer follow.
MonoMs SteadyNowMs();
// "POD-NONCE": the pod name with a nonce fresh at every start (so a restarted
// pod is a new holder and never mistakes the old one's Lease for its own).
std::string ElectorIdentity(const std::string& pod_name);

class LeaseElector {
 public:
  LeaseElector(KubeClient* client, ElectorSettings settings);
  ~LeaseElector();
  LeaseElector(const LeaseElector&) = delete;
  LeaseElector& operator=(const LeaseElector&) = delete;

  void Start();
  // Stops the thread; when leading and `release`, releases the Lease
  // (holderIdentity "", leaseDurationSeconds 1) so a successor need not wait.
  void Stop(bool release = true);

  // Whether this controller may act now, and the term (the Lease's epoch) to
  // act under; 0 when it may not.
  uint64_t ActingTerm() const;
  bool MayAct() const { return ActingTerm() != 0; }
  // keep_going for the actuator: still acting under exactly `term`.
  bool StillActing(uint64_t term) const { return term != 0 && ActingTerm() == term; }
  ElectorRole role() const;
  const std::string& identity() const { return identity_; }

  // A cluster's status.term: the next epoch goes above it.
  void NoteTerm(uint64_t term);
  // A cluster's status.term is above our epoch: stop acting at once, campaign again.
  void Deposed(uint64_t term);

  // Leading: the next renewal raises the epoch above `term` (ElectorCore::
  // RaiseEpochAbove); `why` is logged with it.
  void RaiseEpochAbove(uint64_t term, const std::string& why);

  // Tests only: while paused the thread makes no calls (as if the process
  // were stopped with SIGSTOP); acting lapses by the renew deadline.
  void PauseForTest(bool paused);

 private:
  void Loop();
  LeaseOutcome Send(const ElectorCall& call);

  KubeClient* const client_;
  const std::string identity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  ElectorCore core_;     // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  bool paused_ = false;    // guarded by mu_
  std::thread thread_;
};

}  // namespace pgvigil::kube
