// The StatefulSet NAME (KUBERNETES.md §2): one container `pgvigil` whose PID 1
// is pgvigil-sidecar, a PVC per instance, the spec file and Secrets in one
// read-only projected volume, a read-only root filesystem with emptyDirs for
// the places PostgreSQL writes outside PGDATA, Pod Security Standard
// `restricted`.
//
// The ConfigMap and the Secrets share one projected volume at /etc/pgvigil
// instead of Secret volumes mounted inside the ConfigMap's: nested mounts need
// mount points created inside a read-only volume, and the ConfigMap's
// atomic updates would remove them.
#include "controller/kube/render_json.h"
#include "controller/kube/render_objects.h"

namespace pgvigil::kube {

using web::json::value;

namespace {

constexpr int kSecretFileMode = 0400;

value Str(const std::string& s) { return value::string(s); }

value Strings(std::initializer_list<const char*> items) {
  std::vector<value> out;
  for (const char* s : items) out.push_back(value::string(s));
  return value::array(std::move(out));
}

value ContainerPort(const char* name, int port, const char* protocol) {
  value p = value::object();
  p["name"] = Str(name);
  p["containerPort"] = value::number(port);
  p["protocol"] = Str(protocol);
  return p;
}

value EnvFromField(const char* name, const char* field) {
  value e = value::object();
  e["name"] = Str(name);
  e["valueFrom"]["fieldRef"]["fieldPath"] = Str(field);
  return e;
}

value Mount(const char* name, const char* path, bool read_only) {
  value m = value::object();
  m["name"] = Str(name);
  m["mountPath"] = Str(path);
  if (read_only) m["readOnly"] = value::boolean(true);
  return m;
}

value EmptyDir(const char* name, bool memory) {
  value v = value::object();
  v["name"] = Str(name);
  v["emptyDir"] = value::object();
  if (memory) v["emptyDir"]["medium"] = Str("Memory");
  return v;
}

// GET on the sidecar's REST port ("api"), HTTPS when api.tls is set.
value Probe(const ClusterResource& res, const char* path, int period, int failures) {
  value p = value::object();
  p["httpGet"]["path"] = Str(path);
  p["httpGet"]["port"] = Str("api");
  p["httpGet"]["scheme"] = Str(res.spec.api.tls.enabled() ? "HTTPS" : "HTTP");
  p["periodSeconds"] = value::number(period);
  p["failureThreshold"] = value::number(failures);
  p["timeoutSeconds"] = value::number(1);
  return p;
}

value KeyToPath(const std::string& key, const std::string& path, int mode) {
  value item = value::object();
  item["key"] = Str(key);
  item["path"] = Str(path);
  if (mode) item["mode"] = value::number(mode);
  return item;
}

// cluster.yaml from NAME-config (postgres.parameters travel in it; the agent
// writes pgvigil.conf in the data directory itself), each Secret's keys under
// secrets/<volume>/ (0400).
value ConfigVolume(const ClusterResource& res) {
  std::vector<value> sources;
  value cm = value::object();
  cm["configMap"]["name"] = Str(res.name + "-config");
  cm["configMap"]["items"] = value::array(
      {KeyToPath("cluster.yaml", "cluster.yaml", 0)});
  sources.push_back(std::move(cm));
  for (const SecretMount& m : res.secrets) {
    std::vector<value> items;
    for (const auto& key : m.keys)
      items.push_back(KeyToPath(key, "secrets/" + m.volume + "/" + key, kSecretFileMode));
    value src = value::object();
    src["secret"]["name"] = Str(m.secretName);
    src["secret"]["items"] = value::array(std::move(items));
    sources.push_back(std::move(src));
  }
  value v = value::object();
  v["name"] = Str("config");
  v["projected"]["sources"] = value::array(std::move(sources));
  v["projected"]["defaultMode"] = value::number(0444);
  return v;
}

value Container(const ClusterResource& res, const RenderOptions& options) {
  const ClusterSpec& s = res.spec;
  value c = value::object();
  c["name"] = Str("pgvigil");
  c["image"] = Str(!res.image.empty()              ? res.image
                   : !options.defaultImage.empty() ? options.defaultImage
                                                   : DefaultImage());
  c["command"] =
      value::array({Str("pgvigil-sidecar"), Str("--kubernetes"), Str("-f"), Str(kSpecFile),
                    Str("--node"), Str("$(POD_NAME)"), Str("--state-dir"), Str(kStateDir)});
  c["env"] = value::array({EnvFromField("POD_NAME", "metadata.name"),
                           EnvFromField("POD_NAMESPACE", "metadata.namespace")});
  c["ports"] = value::array(
      {ContainerPort("postgres", kPostgresPort, "TCP"), ContainerPort("proxy", s.proxy.port, "TCP"),
       ContainerPort("api", s.api.port, "TCP"), ContainerPort("watchdog", s.watchdog.port, "TCP"),
       ContainerPort("heartbeat", s.watchdog.heartbeatPort, "UDP")});
  // Ready: a primary, or a standby whose WAL receiver streams. Live: the
  // sidecar's health checker runs, whatever PostgreSQL does (the kubelet never
  // restarts a pod for a database state).
  c["readinessProbe"] = Probe(res, "/readiness", 2, 2);
  c["livenessProbe"] = Probe(res, "/liveness", 10, 3);
  c["volumeMounts"] =
      value::array({Mount("pgdata", kDataMount, false), Mount("config", kConfigDir, true),
                    Mount("shm", "/dev/shm", false), Mount("tmp", "/tmp", false),
                    Mount("run", kSocketDir, false)});
  if (res.resources.IsDefined() && !res.resources.IsNull())
    c["resources"] = YamlToJson(res.resources);
  value sc = value::object();
  sc["allowPrivilegeEscalation"] = value::boolean(false);
  sc["readOnlyRootFilesystem"] = value::boolean(true);
  sc["runAsNonRoot"] = value::boolean(true);
  sc["capabilities"]["drop"] = Strings({"ALL"});
  c["securityContext"] = std::move(sc);
  return c;
}

// Prefer one instance per node; the user's podAntiAffinity, when given, wins.
value Affinity(const ClusterResource& res) {
  value a = res.affinity.IsDefined() && !res.affinity.IsNull() ? YamlToJson(res.affinity)
                                                               : value::object();
  if (a.has_field("podAntiAffinity")) return a;
  value term = value::object();
  term["weight"] = value::number(100);
  term["podAffinityTerm"]["topologyKey"] = Str("kubernetes.io/hostname");
  term["podAffinityTerm"]["labelSelector"]["matchLabels"][kClusterLabel] = Str(res.name);
  a["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] = value::array({term});
  return a;
}

value PodSpec(const ClusterResource& res, const RenderOptions& options) {
  value p = value::object();
  p["containers"] = value::array({Container(res, options)});
  p["volumes"] = value::array(
      {ConfigVolume(res), EmptyDir("shm", true), EmptyDir("tmp", false), EmptyDir("run", false)});
  // Pods have no API token (KUBERNETES.md §2) and no environment of Services.
  p["automountServiceAccountToken"] = value::boolean(false);
  p["enableServiceLinks"] = value::boolean(false);
  p["terminationGracePeriodSeconds"] = value::number(kTerminationGraceSeconds);
  value sc = value::object();
  sc["runAsNonRoot"] = value::boolean(true);
  sc["runAsUser"] = value::number(kPostgresUid);
  sc["runAsGroup"] = value::number(kPostgresUid);
  sc["fsGroup"] = value::number(kPostgresUid);
  sc["fsGroupChangePolicy"] = Str("OnRootMismatch");
  sc["seccompProfile"]["type"] = Str("RuntimeDefault");
  p["securityContext"] = std::move(sc);
  p["affinity"] = Affinity(res);
  if (res.tolerations.IsDefined() && res.tolerations.IsSequence() && res.tolerations.size() > 0)
    p["tolerations"] = YamlToJson(res.tolerations);
  if (!res.nodeSelector.empty()) p["nodeSelector"] = StringMapJson(res.nodeSelector);
  return p;
}

value ClaimTemplate(const ClusterResource& res) {
  value pvc = value::object();
  pvc["metadata"]["name"] = Str("pgdata");
  pvc["metadata"]["labels"] = ClusterLabels(res);
  pvc["spec"]["accessModes"] = Strings({"ReadWriteOnce"});
  pvc["spec"]["resources"]["requests"]["storage"] = Str(res.storageSize);
  if (!res.storageClass.empty()) pvc["spec"]["storageClassName"] = Str(res.storageClass);
  return pvc;
}

}  // namespace

value RenderStatefulSet(const ClusterResource& res, const RenderOptions& options) {
  value sts = value::object();
  sts["apiVersion"] = Str("apps/v1");
  sts["kind"] = Str("StatefulSet");
  sts["metadata"] = OwnedMetadata(res, options, res.name);
  value spec = value::object();
  spec["replicas"] = value::number(res.replicas > 0 ? res.replicas : res.instances);
  spec["serviceName"] = Str(res.name + "-hl");
  spec["podManagementPolicy"] = Str("Parallel");
  // The controller replaces pods itself, replicas first and the primary last.
  spec["updateStrategy"]["type"] = Str("OnDelete");
  spec["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] = Str("Retain");
  spec["persistentVolumeClaimRetentionPolicy"]["whenScaled"] = Str("Delete");
  spec["selector"]["matchLabels"][kClusterLabel] = Str(res.name);
  // Only the cluster's labels: role labels are per pod (kube_plan.h).
  spec["template"]["metadata"]["labels"] = ClusterLabels(res);
  spec["template"]["spec"] = PodSpec(res, options);
  spec["volumeClaimTemplates"] = value::array({ClaimTemplate(res)});
  sts["spec"] = std::move(spec);
  return sts;
}

}  // namespace pgvigil::kube
