// The Services (KUBERNETES.md §5), the ConfigMap with the pods' spec file, the
// PodDisruptionBudget, the metadata every owned object shares, and the list in
// apply order.
#include "common/node_spec_push.h"
#include "common/spec_parser.h"
#include "controller/kube/render_json.h"
#include "controller/kube/render_objects.h"

namespace pgvigil::kube {

using web::json::value;

value ClusterLabels(const ClusterResource& res) {
  value labels = value::object();
  labels[kManagedByLabel] = value::string(kManagedByValue);
  labels[kClusterLabel] = value::string(res.name);
  return labels;
}

value OwnerReference(const ClusterResource& res, const RenderOptions& options) {
  value ref = value::object();
  ref["apiVersion"] = value::string("pgvigil.io/v1alpha1");
  ref["kind"] = value::string("PostgresCluster");
  ref["name"] = value::string(res.name);
  ref["uid"] = value::string(options.uid);
  ref["controller"] = value::boolean(true);
  ref["blockOwnerDeletion"] = value::boolean(true);
  return ref;
}

value OwnedMetadata(const ClusterResource& res, const RenderOptions& options,
                    const std::string& name) {
  value meta = value::object();
  meta["name"] = value::string(name);
  meta["namespace"] = value::string(res.ns);
  meta["labels"] = ClusterLabels(res);
  meta["ownerReferences"] = value::array({OwnerReference(res, options)});
  if (options.term != 0)
    meta["annotations"][kTermAnnotation] = value::string(std::to_string(options.term));
  return meta;
}

namespace {

value Object(const char* api_version, const char* kind, value metadata) {
  value o = value::object();
  o["apiVersion"] = value::string(api_version);
  o["kind"] = value::string(kind);
  o["metadata"] = std::move(metadata);
  return o;
}

value Port(const std::string& name, int port, int target, const char* protocol = "TCP") {
  value p = value::object();
  p["name"] = value::string(name);
  p["port"] = value::number(port);
  p["targetPort"] = value::number(target);
  p["protocol"] = value::string(protocol);
  return p;
}

value Selector(const ClusterResource& res, const char* key, const char* val) {
  value s = value::object();
  s[kClusterLabel] = value::string(res.name);
  if (key) s[key] = value::string(val);
  return s;
}

// The user's settings of a client-facing Service (spec.services.rw/ro/pool).
void ApplySettings(const ServiceSettings& settings, value* svc) {
  (*svc)["spec"]["type"] = value::string(ToString(settings.type));
  // The user's annotations, and the term stamp (which they cannot override).
  for (const auto& [k, v] : settings.annotations)
    if (k != kTermAnnotation) (*svc)["metadata"]["annotations"][k] = value::string(v);
  // The API server accepts source ranges only on LoadBalancer Services.
  if (settings.type == ServiceType::kLoadBalancer && !settings.loadBalancerSourceRanges.empty())
    (*svc)["spec"]["loadBalancerSourceRanges"] = StringListJson(settings.loadBalancerSourceRanges);
}

std::string Path(const ClusterResource& res, const char* group_version, const char* plural,
                 const std::string& name) {
  return std::string(group_version) + "/namespaces/" + res.ns + "/" + plural + "/" + name;
}

}  // namespace

value RenderService(const ClusterResource& res, const RenderOptions& options,
                    const std::string& which) {
  const ClusterSpec& s = res.spec;
  const std::string suffix = which == "pool" ? "" : "-" + which;
  value svc = Object("v1", "Service", OwnedMetadata(res, options, res.name + suffix));
  value spec = value::object();
  if (which == "rw") {
    // Writes always pass a pgvigil proxy (its write fence), on the primary's pod.
    spec["selector"] = Selector(res, "pgvigil.io/role", "primary");
    spec["ports"] = value::array({Port("postgres", kPostgresPort, s.proxy.port)});
  } else if (which == "ro") {
    spec["selector"] = Selector(res, "pgvigil.io/role", "replica");
    spec["ports"] = value::array({Port("postgres", kPostgresPort, kPostgresPort)});
  } else if (which == "pool") {
    spec["selector"] = Selector(res, "pgvigil.io/pool", "true");
    spec["ports"] = value::array({Port("proxy", s.proxy.port, s.proxy.port)});
  } else {  // "hl": pod DNS names for replication, the watchdog and REST, Ready or not
    spec["clusterIP"] = value::string("None");
    spec["publishNotReadyAddresses"] = value::boolean(true);
    spec["selector"] = Selector(res, nullptr, nullptr);
    spec["ports"] = value::array(
        {Port("postgres", kPostgresPort, kPostgresPort), Port("proxy", s.proxy.port, s.proxy.port),
         Port("api", s.api.port, s.api.port), Port("watchdog", s.watchdog.port, s.watchdog.port),
         Port("heartbeat", s.watchdog.heartbeatPort, s.watchdog.heartbeatPort, "UDP")});
  }
  svc["spec"] = std::move(spec);
  if (which == "rw") ApplySettings(res.rw, &svc);
  if (which == "ro") ApplySettings(res.ro, &svc);
  if (which == "pool") ApplySettings(res.pool, &svc);
  return svc;
}

value RenderConfigMap(const ClusterResource& res, const RenderOptions& options) {
  value cm = Object("v1", "ConfigMap", OwnedMetadata(res, options, res.name + "-config"));
  if (res.acceptedGeneration > 0 && !res.acceptedSpec.empty()) {
    // The spec in force, for a controller that starts later (spec_in_force.h).
    value& annotations = cm["metadata"]["annotations"];
    annotations[kAcceptedGenerationAnnotation] = value::string(std::to_string(res.acceptedGeneration));
    annotations[kAcceptedSpecAnnotation] = value::string(res.acceptedSpec);
  }
  value data = value::object();
  data["cluster.yaml"] = value::string(SpecToYamlWithGeneration(res.spec, options.specGeneration));
  cm["data"] = std::move(data);
  return cm;
}

value RenderPodDisruptionBudget(const ClusterResource& res, const RenderOptions& options) {
  value pdb = Object("policy/v1", "PodDisruptionBudget", OwnedMetadata(res, options, res.name));
  // One pod at a time: a watchdog majority survives a drain.
  pdb["spec"]["maxUnavailable"] = value::number(1);
  pdb["spec"]["selector"]["matchLabels"] = Selector(res, nullptr, nullptr);
  return pdb;
}

std::vector<RenderedObject> RenderOwnedObjects(const ClusterResource& res,
                                               const RenderOptions& options) {
  std::vector<RenderedObject> out;
  out.push_back({"ConfigMap", res.name + "-config",
                 Path(res, "/api/v1", "configmaps", res.name + "-config"),
                 RenderConfigMap(res, options)});
  for (const char* which : {"rw", "ro", "pool", "hl"}) {
    value svc = RenderService(res, options, which);
    std::string name = svc.at("metadata").at("name").as_string();
    out.push_back({"Service", name, Path(res, "/api/v1", "services", name), std::move(svc)});
  }
  out.push_back({"PodDisruptionBudget", res.name,
                 Path(res, "/apis/policy/v1", "poddisruptionbudgets", res.name),
                 RenderPodDisruptionBudget(res, options)});
  out.push_back({"StatefulSet", res.name, Path(res, "/apis/apps/v1", "statefulsets", res.name),
                 RenderStatefulSet(res, options)});
  return out;
}

}  // namespace pgvigil::kube
