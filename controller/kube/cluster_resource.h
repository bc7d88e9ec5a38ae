// The PostgresCluster custom resource (KUBERNETES.md §3) converted to the VM
// cluster spec (common/spec.h) plus the Kubernetes-only settings, so that the
// project's one validator (common/spec_validate.cc) judges both. Pure: reads a
// parsed document, returns values; no I/O.
//
// The conversion fills what the image fixes (ports, directories, listen
// addresses), derives nodes from `instances` (NAME-i at
// NAME-i.NAME-hl.NAMESPACE.svc) and points every `...File` of the spec at the
// file where the pod mounts the referenced Secret. Problems are reported as
// "spec.path: reason" with the custom resource's own paths.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "common/spec.h"
#include "common/spec_parser.h"

namespace pgvigil::kube {

// What the image fixes; a custom resource may not set these.
inline constexpr int kPostgresPort = 5432;
inline constexpr char kDataDirectory[] = "/var/lib/postgresql/data/pgdata";
inline constexpr char kBinDirectory[] = "/usr/lib/postgresql/15/bin";
inline constexpr char kOsUser[] = "postgres";
inline constexpr char kListenAll[] = "::";
inline constexpr char kSecretsDir[] = "/etc/pgvigil/secrets";
// metadata.name limit: pods carry "controller-revision-hash: NAME-<hash>" (63 max).
inline constexpr size_t kMaxClusterName = 52;

// One Secret the pod mounts at kSecretsDir/<volume>/, read-only (0400).
struct SecretMount {
  std::string volume;                // "superuser", "proxy-auth", ...; also the mount directory
  std::string secretName;
  std::vector<std::string> keys;     // the keys used, each a file in the directory
  bool operator==(const SecretMount& o) const {
    return volume == o.volume && secretName == o.secretName && keys == o.keys;
  }
};

enum class ServiceType { kClusterIP, kNodePort, kLoadBalancer };
const char* ToString(ServiceType t);

struct ServiceSettings {
  ServiceType type = ServiceType::kClusterIP;
  std::map<std::string, std::string> annotations;
  std::vector<std::string> loadBalancerSourceRanges;
};

enum class NodeLossPolicy { kWait, kRecreateAfterFence };
const char* ToString(NodeLossPolicy p);

// A converted custom resource. `spec` is the VM-format spec the pods run
// (rendered into the NAME-config ConfigMap).
struct ClusterResource {
  std::string name;
  std::string ns;  // metadata.namespace
  int instances = 0;
  // The StatefulSet's replicas when they differ from `instances` (a scale-down
  // in progress keeps the pod of a member already removed: kube_scale.h); 0: instances.
  int replicas = 0;
  std::string image;
  std::string storageSize;  // the quantity as written ("10Gi")
  uint64_t storageBytes = 0;
  std::string storageClass;  // empty: the cluster's default class
  // Pod settings passed to the StatefulSet unchanged (null when absent).
  YAML::Node resources, affinity, tolerations;
  std::map<std::string, std::string> nodeSelector;
  ServiceSettings rw, ro, pool;
  NodeLossPolicy nodeLossPolicy = NodeLossPolicy::kWait;
  Millis nodeLossGracePeriod{std::chrono::minutes(5)};
  // How long a lost instance's pod may take to go before it is reported stuck
  // (node_loss.h): spec.podDeletionTimeout.
  Millis podDeletionTimeout{std::chrono::minutes(10)};
  std::vector<SecretMount> secrets;  // in a fixed order
  ClusterSpec spec;
  // Set by the controller on the resource it accepted (not by the converter):
  // the custom resource generation and its .spec as written (JSON), which
  // NAME-config records (render_objects.h); 0 and "": not recorded.
  int64_t acceptedGeneration = 0;
  std::string acceptedSpec;
};

std::string DefaultImage();  // "pgvigil/pgvigil:<version>-pg15"
std::string InstanceName(const std::string& cluster, int ordinal);  // "demo-1"
std::string InstanceHost(const std::string& cluster, int ordinal,
                         const std::string& ns);  // "demo-1.demo-hl.db.svc"

struct ConvertOptions {
  // Used when metadata.namespace is absent (a file not yet applied).
  std::string defaultNamespace = "default";
  // When set, every spec field path the converter knows is added ("[]" for list
  // items): the CRD sync test compares it with the schema's properties.
  std::set<std::string>* knownFields = nullptr;
};

struct ResourceLoad {
  std::optional<ClusterResource> resource;
  std::vector<SpecError> errors;  // every problem, in document order
  bool ok() const { return resource.has_value(); }
  std::string ErrorText() const;   // "spec.path: reason" lines
};

// `doc` is the whole object (apiVersion, kind, metadata, spec, status ignored),
// parsed from YAML or JSON. `source` names it in errors ("db/demo" or a file).
ResourceLoad ConvertClusterResource(const YAML::Node& doc, const std::string& source,
                                    const ConvertOptions& options = {});
ResourceLoad ConvertClusterResourceText(const std::string& yaml_or_json, const std::string& source,
                                        const ConvertOptions& options = {});

}  // namespace pgvigil::kube
