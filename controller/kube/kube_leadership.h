// The Kubernetes LeadershipSource of one PostgresCluster (leadership.h,
// KUBERNETES.md §4.2): this controller may act on the cluster while the
// shared LeaseElector says it leads AND its epoch is durable as that
// cluster's status.term (made so by CAS here before anything else). A
// status.term above the epoch deposes the elector at once (every cluster
// stops) and it campaigns again above that term. Reconcile thread only; the
// elector and the store must outlive it (the store is the same one the
// Reconciler uses as its StateStore).
#pragma once

#include "controller/kube/elector.h"
#include "controller/kube/status_store.h"
#include "controller/leadership.h"

namespace pgvigil::kube {

class KubeLeadership : public LeadershipSource {
 public:
  KubeLeadership(LeaseElector* elector, StatusStore* store) : elector_(elector), store_(store) {}
  LeadershipLook Look(plan::TimeMs now) override;
  // The elector still acts under `term` and no newer status.term was seen.
  bool StillActing(uint64_t term) override;

 private:
  LeaseElector* const elector_;
  StatusStore* const store_;
  uint64_t durableTerm_ = 0;  // the term last made durable here (logged once)
};

}  // namespace pgvigil::kube
