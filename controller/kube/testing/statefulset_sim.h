// kube-fake's minimal StatefulSet controller, a STAND-IN for kube-controller-
// manager: pods NAME-0..N-1 from the template (labels pod-name,
// controller-revision-hash, pod-index; hostname and subdomain; an owner
// reference), PVCs from volumeClaimTemplates, Parallel (all at once) or
// OrderedReady (the next pod once the previous is Ready), updateStrategy
// OnDelete (a changed template reaches a pod only when it is deleted and
// recreated; RollingUpdate is treated the same: nothing here rolls pods),
// scale-down from the highest ordinals, persistentVolumeClaimRetentionPolicy
// (whenDeleted/whenScaled: Retain or Delete) and the status counters.
// Pods never run: tests (or the kube-lab harness) set their status.
#pragma once

#include "controller/kube/testing/object_store.h"

namespace pgvigil::kube::fake {

// One pass over every StatefulSet; the store calls it after each write.
void ReconcileStatefulSets(ObjectStore* store);

}  // namespace pgvigil::kube::fake
