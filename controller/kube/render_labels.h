// The labels, annotations and field manager pgvigil's Kubernetes mode writes
// (KUBERNETES.md §5, §6), named once for the renderers (render_objects.h) and
// the pod labelling (kube_plan.h).
#pragma once

namespace pgvigil::kube {

// On every owned object and pod.
inline constexpr char kManagedByLabel[] = "app.kubernetes.io/managed-by";
inline constexpr char kManagedByValue[] = "pgvigil";
inline constexpr char kClusterLabel[] = "pgvigil.io/cluster";
// Per pod, from the routing state; never in the pod template.
inline constexpr char kRoleLabel[] = "pgvigil.io/role";  // primary replica fenced unrouted
inline constexpr char kPoolLabel[] = "pgvigil.io/pool";  // "true" while live by majority
// The acting controller's term (pods and owned objects) and the routing
// generation a pod's labels reflect.
inline constexpr char kTermAnnotation[] = "pgvigil.io/term";
inline constexpr char kRoutingGenerationAnnotation[] = "pgvigil.io/routing-generation";
// On the PostgresCluster: '["demo-1"]' or '["*"]'.
inline constexpr char kFencedInstancesAnnotation[] = "pgvigil.io/fenced-instances";
// On NAME-config: the custom resource generation whose spec is applied, and
// that spec as written (JSON of .spec), so that a controller starting later
// knows the spec in force (spec_in_force.h).
inline constexpr char kAcceptedGenerationAnnotation[] = "pgvigil.io/accepted-generation";
inline constexpr char kAcceptedSpecAnnotation[] = "pgvigil.io/accepted-spec";
// Server-side apply's fieldManager.
inline constexpr char kFieldManager[] = "pgvigil-controller";

}  // namespace pgvigil::kube
