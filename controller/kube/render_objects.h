// The objects a PostgresCluster owns (KUBERNETES.md §2, §5), rendered from its
// converted form (cluster_resource.h) as the JSON bodies the controller sends
// by server-side apply (§7 row 6): StatefulSet NAME, Services NAME-rw, NAME-ro,
// NAME and NAME-hl, ConfigMap NAME-config, PodDisruptionBudget NAME. Pure: the
// same resource and options always give the same objects; no I/O, no clock.
//
// Every object carries an ownerReference to the custom resource (controller,
// blockOwnerDeletion) and the labels app.kubernetes.io/managed-by=pgvigil and
// pgvigil.io/cluster=NAME. Role labels (pgvigil.io/role, pgvigil.io/pool) are
// never in the pod template: the controller sets them on each pod from the
// routing state (kube_plan.h), and a template change would restart pods.
#pragma once

#include <cpprest/json.h>

#include <cstdint>
#include <string>
#include <vector>

#include "controller/kube/cluster_resource.h"
#include "controller/kube/render_labels.h"

namespace pgvigil::kube {

// Paths inside the pod (the image and the sidecar's --kubernetes mode rely on them).
inline constexpr char kConfigDir[] = "/etc/pgvigil";  // ConfigMap + Secrets (one projected volume)
inline constexpr char kSpecFile[] = "/etc/pgvigil/cluster.yaml";
inline constexpr char kDataMount[] = "/var/lib/postgresql/data";  // the PVC; PGDATA is its pgdata/
inline constexpr char kStateDir[] = "/var/lib/postgresql/data/pgvigil";
inline constexpr char kSocketDir[] = "/var/run/postgresql";
// The image's postgres account (uid and gid): the pod runs as it, and fsGroup
// makes the mounted Secret files (mode 0400) and the PVC readable by it.
inline constexpr int kPostgresUid = 999;
// SIGTERM: CHECKPOINT, fast stop, watchdog resign (KUBERNETES.md §2).
inline constexpr int kTerminationGraceSeconds = 60;

struct RenderOptions {
  std::string uid;           // the custom resource's metadata.uid (ownerReferences)
  std::string defaultImage;  // used when the resource names none; empty: DefaultImage()
  // Not 0: every object's metadata (never the pod template) carries
  // pgvigil.io/term, so that a deposed controller's apply, based on an older
  // read, fails on the resourceVersion the stamp moved (KUBERNETES.md §4.2).
  uint64_t term = 0;
  // Not 0: NAME-config's cluster.yaml carries it as the metadata annotation
  // pgvigil.io/spec-generation (common/node_spec_push.h), the generation the
  // sidecars are pushed with PUT /v1/node/spec; a starting sidecar takes the
  // newer of that file and the copy it stored from a push.
  uint64_t specGeneration = 0;
};

// One object to apply. `path` is its URL path (server-side apply PATCHes it).
struct RenderedObject {
  std::string kind;
  std::string name;
  std::string path;  // "/apis/apps/v1/namespaces/db/statefulsets/demo"
  web::json::value object;
};

// In apply order: ConfigMap, Services, PodDisruptionBudget, StatefulSet (the
// pods find their spec file and DNS names when they start).
std::vector<RenderedObject> RenderOwnedObjects(const ClusterResource& res,
                                               const RenderOptions& options);

web::json::value RenderStatefulSet(const ClusterResource& res, const RenderOptions& options);
web::json::value RenderService(const ClusterResource& res, const RenderOptions& options,
                               const std::string& which);  // "rw", "ro", "pool", "hl"
web::json::value RenderConfigMap(const ClusterResource& res, const RenderOptions& options);
web::json::value RenderPodDisruptionBudget(const ClusterResource& res,
                                           const RenderOptions& options);

// Shared by the renderers: metadata {name, namespace, labels, ownerReferences}.
web::json::value OwnedMetadata(const ClusterResource& res, const RenderOptions& options,
                               const std::string& name);
web::json::value ClusterLabels(const ClusterResource& res);
web::json::value OwnerReference(const ClusterResource& res, const RenderOptions& options);

}  // namespace pgvigil::kube
