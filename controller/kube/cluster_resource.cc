// PostgresCluster -> ClusterSpec: the Kubernetes-only fields, instances and their
// overrides here, the shared sections in cr_sections.cc, then the project's
// validator on the result with its paths written as the custom resource's.
#include "controller/kube/cluster_resource.h"

#include <arpa/inet.h>

#include <algorithm>

#include "controller/kube/cr_sections.h"
#include "controller/kube/quantity.h"

namespace pgvigil::kube {

using cr_internal::ErrorSink;
using cr_internal::MapReader;

const char* ToString(ServiceType t) {
  switch (t) {
    case ServiceType::kNodePort: return "NodePort";
    case ServiceType::kLoadBalancer: return "LoadBalancer";
    default: return "ClusterIP";
  }
}

const char* ToString(NodeLossPolicy p) {
  return p == NodeLossPolicy::kRecreateAfterFence ? "RecreateAfterFence" : "Wait";
}

std::string DefaultImage() { return std::string("pgvigil/pgvigil:") + PGVIGIL_VERSION + "-pg15"; }

std::string InstanceName(const std::string& cluster, int ordinal) {
  return cluster + "-" + std::to_string(ordinal);
}

std::string InstanceHost(const std::string& cluster, int ordinal, const std::string& ns) {
  return InstanceName(cluster, ordinal) + "." + cluster + "-hl." + ns + ".svc";
}

std::string ResourceLoad::ErrorText() const {
  std::string out;
  for (const auto& e : errors) out += (out.empty() ? "" : "\n") + e.path + ": " + e.reason;
  return out;
}

namespace {

bool IsCidr(const std::string& s) {
  auto slash = s.find('/');
  if (slash == std::string::npos || slash + 1 == s.size() || s.size() - slash > 4) return false;
  std::string bits = s.substr(slash + 1), ip = s.substr(0, slash);
  if (bits.find_first_not_of("0123456789") != std::string::npos) return false;
  int prefix = std::stoi(bits);
  unsigned char buf[16];
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) return prefix <= 32;
  return inet_pton(AF_INET6, ip.c_str(), buf) == 1 && prefix <= 128;
}

bool IsDnsLabel(const std::string& s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

std::string ScalarAt(const YAML::Node& map, const char* key, const std::string& absent) {
  const YAML::Node v = map[key];
  return v.IsDefined() && v.IsScalar() ? v.Scalar() : absent;
}

class Converter {
 public:
  Converter(ErrorSink* sink, const ConvertOptions& options) : sink_(sink), options_(options) {}

  // Reads the whole document into res_; returns whether a spec mapping was read.
  bool Read(const YAML::Node& doc) {
    if (!doc.IsMap()) {
      sink_->At(doc.Mark(), "(document)", "expected a PostgresCluster object (a mapping)");
      return false;
    }
    Identity(doc);
    const YAML::Node body = doc["spec"];
    if (!body.IsDefined() || body.IsNull()) {
      sink_->At(doc.Mark(), "spec", "required field is missing");
      return false;
    }
    MapReader spec(sink_, body, "spec");
    if (!spec.present()) return false;
    Instances(spec);
    Storage(spec);
    Pod(spec);
    Services(spec);
    NodeLoss(spec);
    cr_internal::ReadSharedSections(spec, &res_, sink_);
    cr_internal::Refuse(spec, "vip", "refused on Kubernetes: the Services NAME-rw and NAME replace the VIP",
                        sink_);
    cr_internal::Refuse(spec, "nodes", "refused on Kubernetes: set instances (pods NAME-0 .. NAME-(N-1))",
                        sink_);
    Overrides(spec);
    Primary(spec);
    return true;
  }

  ClusterResource& resource() { return res_; }

 private:
  void Identity(const YAML::Node& doc) {
    // A const node's absent key is an invalid node: ask IsDefined() before anything else.
    const YAML::Node api = doc["apiVersion"], kind = doc["kind"], meta = doc["metadata"];
    if (ScalarAt(doc, "apiVersion", "") != "pgvigil.io/v1alpha1")
      sink_->At(api.IsDefined() ? api.Mark() : doc.Mark(), "apiVersion", "expected pgvigil.io/v1alpha1");
    if (ScalarAt(doc, "kind", "") != "PostgresCluster")
      sink_->At(kind.IsDefined() ? kind.Mark() : doc.Mark(), "kind", "expected PostgresCluster");
    bool meta_map = meta.IsDefined() && meta.IsMap();
    const YAML::Node name = meta_map ? meta["name"] : YAML::Node();
    const YAML::Node ns = meta_map ? meta["namespace"] : YAML::Node();
    std::string ns_name = meta_map ? ScalarAt(meta, "namespace", "") : "";
    if (!meta_map || ScalarAt(meta, "name", "").empty()) {
      sink_->At(meta.IsDefined() ? meta.Mark() : doc.Mark(), "metadata.name", "required field is missing");
    } else {
      res_.name = name.Scalar();
      sink_->Remember("metadata.name", name.Mark());
      if (res_.name.size() > kMaxClusterName)
        sink_->At(name.Mark(), "metadata.name",
                  "at most " + std::to_string(kMaxClusterName) +
                      " characters on Kubernetes (pods carry NAME-<revision hash> in a 63-character label)");
    }
    res_.ns = ns_name.empty() ? options_.defaultNamespace : ns_name;
    if (!IsDnsLabel(res_.ns))
      sink_->At(meta_map && ns.IsDefined() ? ns.Mark() : doc.Mark(), "metadata.namespace",
                "'" + res_.ns + "' is not a namespace name (lower-case letters, digits and '-')");
    res_.spec.name = res_.name;
  }

  void Instances(MapReader& spec) {
    if (!spec.Has("instances")) sink_->AtPath("spec.instances", "required field is missing");
    spec.Int("instances", &res_.instances, 1, 9);
    spec.String("image", &res_.image);
    if (res_.image.empty()) {
      res_.image = DefaultImage();
    } else if (res_.image.find_first_of(" \t\r\n") != std::string::npos) {
      sink_->AtPath("spec.image", "'" + res_.image + "' is not an image reference (no spaces)");
    }
  }

  void Storage(MapReader& spec) {
    if (!spec.Has("storage")) sink_->AtPath("spec.storage", "required field is missing (size)");
    MapReader r(sink_, spec.Take("storage"), spec.Child("storage"));
    YAML::Node size = r.Take("size");
    if (!r.present()) {
      // absent (reported above) or not a mapping (reported by the reader)
    } else if (!size.IsDefined() || size.IsNull()) {
      sink_->AtPath("spec.storage.size", "required field is missing (a quantity such as 10Gi)");
    } else {
      auto bytes = size.IsScalar() ? ParseQuantity(size.Scalar()) : std::nullopt;
      if (!bytes || *bytes == 0) {
        sink_->At(size.Mark(), "spec.storage.size",
                  "expected a positive quantity of bytes such as 10Gi or 500M" +
                      (size.IsScalar() ? ", got '" + size.Scalar() + "'" : std::string()));
      } else {
        res_.storageSize = size.Scalar();
        res_.storageBytes = *bytes;
      }
    }
    r.String("storageClass", &res_.storageClass);
    if (!res_.storageClass.empty() && !cr_internal::IsDnsSubdomain(res_.storageClass))
      sink_->AtPath("spec.storage.storageClass", "'" + res_.storageClass + "' is not a StorageClass name");
  }

  YAML::Node Object(MapReader& spec, const std::string& key, bool list) {
    YAML::Node n = spec.Take(key);
    if (!n.IsDefined() || n.IsNull()) return YAML::Node();
    if (list ? !n.IsSequence() : !n.IsMap()) {
      sink_->At(n.Mark(), spec.Child(key), list ? "expected a list" : "expected a mapping of fields");
      return YAML::Node();
    }
    return YAML::Clone(n);
  }

  void Pod(MapReader& spec) {
    res_.resources = Object(spec, "resources", false);
    res_.affinity = Object(spec, "affinity", false);
    res_.tolerations = Object(spec, "tolerations", true);
    spec.StringMap("nodeSelector", &res_.nodeSelector);
    const YAML::Node written = spec.Take("tolerations");  // the clone has no positions
    for (size_t i = 0; res_.tolerations.IsSequence() && i < written.size(); ++i) {
      const YAML::Node t = written[i];
      std::string path = "spec.tolerations[" + std::to_string(i) + "]";
      if (!t.IsMap()) {
        sink_->At(t.Mark(), path, "expected a toleration (a mapping)");
        continue;
      }
      std::string key = ScalarAt(t, "key", "");
      std::string op = ScalarAt(t, "operator", "Equal");
      if (key == "node.kubernetes.io/out-of-service")
        sink_->At(t.Mark(), path,
                  "refused: pods on an out-of-service node must be removable (pgvigil counts them as lost)");
      else if (key.empty() && op == "Exists")
        sink_->At(t.Mark(), path,
                  "refused: tolerates every taint, node.kubernetes.io/out-of-service included; name the key");
    }
  }

  void Service(MapReader& parent, const std::string& key, ServiceSettings* out) {
    MapReader r(sink_, parent.Take(key), parent.Child(key));
    int t = r.Choice("type", {"ClusterIP", "NodePort", "LoadBalancer"});
    if (t >= 0) out->type = static_cast<ServiceType>(t);
    r.StringMap("annotations", &out->annotations);
    r.StringList("loadBalancerSourceRanges", &out->loadBalancerSourceRanges);
    for (size_t i = 0; i < out->loadBalancerSourceRanges.size(); ++i)
      if (!IsCidr(out->loadBalancerSourceRanges[i]))
        sink_->AtPath(r.Child("loadBalancerSourceRanges") + "[" + std::to_string(i) + "]",
                      "'" + out->loadBalancerSourceRanges[i] + "' is not a CIDR such as 10.0.0.0/8");
    // The API server takes source ranges on LoadBalancer Services only.
    if (!out->loadBalancerSourceRanges.empty() && out->type != ServiceType::kLoadBalancer)
      sink_->AtPath(r.Child("loadBalancerSourceRanges"),
                    std::string("applies only to type LoadBalancer (this Service is ") + ToString(out->type) + ")");
  }

  void Services(MapReader& spec) {
    MapReader r(sink_, spec.Take("services"), spec.Child("services"));
    Service(r, "rw", &res_.rw);
    Service(r, "ro", &res_.ro);
    Service(r, "pool", &res_.pool);
  }

  void NodeLoss(MapReader& spec) {
    int p = spec.Choice("nodeLossPolicy", {"Wait", "RecreateAfterFence"});
    if (p >= 0) res_.nodeLossPolicy = static_cast<NodeLossPolicy>(p);
    spec.Duration("nodeLossGracePeriod", &res_.nodeLossGracePeriod, std::chrono::seconds(10),
                  std::chrono::hours(24));
    spec.Duration("podDeletionTimeout", &res_.podDeletionTimeout, std::chrono::seconds(10), std::chrono::hours(24));
  }

  // Nodes from instances, then the per-instance overrides.
  void Overrides(MapReader& spec) {
    ClusterSpec& s = res_.spec;
    s.postgres.port = kPostgresPort;
    s.postgres.dataDirectory = kDataDirectory;
    s.postgres.binDirectory = kBinDirectory;
    s.postgres.osUser = kOsUser;
    if (!res_.name.empty()) {
      for (int i = 0; i < res_.instances; ++i) {
        NodeSpec n;
        n.name = InstanceName(res_.name, i);
        n.host = InstanceHost(res_.name, i, res_.ns);
        s.nodes.push_back(n);
      }
    }
    YAML::Node list = spec.Take("instanceOverrides");
    if (!list.IsDefined() || list.IsNull()) return;
    if (!list.IsSequence()) {
      sink_->At(list.Mark(), "spec.instanceOverrides", "expected a list of {name, weight, noFailover, noLoadBalance}");
      return;
    }
    std::map<std::string, std::string> seen;
    for (size_t i = 0; i < list.size(); ++i) {
      std::string path = "spec.instanceOverrides[" + std::to_string(i) + "]";
      MapReader r(sink_, list[i], path);
      NodeSpec o;
      r.String("name", &o.name, true);
      r.Int("weight", &o.weight, 0, 10000);
      r.Bool("noFailover", &o.noFailover);
      r.Bool("noLoadBalance", &o.noLoadBalance);
      if (!r.present() || o.name.empty()) continue;
      if (auto [it, fresh] = seen.emplace(o.name, path); !fresh) {
        sink_->AtPath(path + ".name", "'" + o.name + "' is overridden twice (also " + it->second + ")");
        continue;
      }
      auto node = std::find_if(s.nodes.begin(), s.nodes.end(), [&](const NodeSpec& n) { return n.name == o.name; });
      if (node == s.nodes.end()) {
        if (!s.nodes.empty())
          sink_->AtPath(path + ".name", "'" + o.name + "' is not an instance of this cluster (" + InstanceRange() + ")");
        continue;
      }
      node->weight = o.weight;
      node->noFailover = o.noFailover;
      node->noLoadBalance = o.noLoadBalance;
    }
  }

  void Primary(MapReader& spec) {
    std::string primary;
    spec.String("primary", &primary);
    if (primary.empty() || res_.spec.nodes.empty()) return;
    if (!res_.spec.FindNode(primary)) {
      sink_->AtPath("spec.primary", "'" + primary + "' is not an instance of this cluster (" + InstanceRange() + ")");
      return;
    }
    res_.spec.primary = primary;
  }

  std::string InstanceRange() const {
    const auto& n = res_.spec.nodes;
    return n.size() == 1 ? n[0].name : n.front().name + " .. " + n.back().name;
  }

  ErrorSink* sink_;
  const ConvertOptions& options_;
  ClusterResource res_;
};

// The validator speaks of the VM spec's fields; say which custom-resource field
// to change instead. Returns false for an error the custom resource already
// reported in its own words (or one that repeats for every instance).
bool ToResourcePath(SpecError* e) {
  static const std::vector<std::pair<std::string, std::string>> kPaths = {
      {"spec.postgres.superuser.passwordFile", "spec.postgres.superuser.passwordSecret"},
      {"spec.postgres.replicationUser.passwordFile", "spec.postgres.replicationUser.passwordSecret"},
      {"spec.watchdog.authKeyFile", "spec.watchdog.authKeySecret"},
      {"spec.api.tokenFile", "spec.api.tokenSecret"},
      {"spec.proxy.auth.", "spec.proxy.auth.secret"},
      {"spec.proxy.tls.", "spec.proxy.tls.secret"},
      {"spec.api.tls.", "spec.api.tls.secret"},
  };
  for (const auto& [from, to] : kPaths) {
    if (e->path.rfind(from, 0) == 0) {
      e->path = to;
      return true;
    }
  }
  if (e->path.rfind("spec.nodes[", 0) == 0) {
    // Port clashes are the same for every pod: name the first one only. Names and
    // hosts derive from metadata, whose own problems are reported.
    if (e->path != "spec.nodes[0]") return false;
    e->path = "spec";
  }
  return true;
}

bool ByPosition(const SpecError& a, const SpecError& b) {
  if (a.line != b.line) return a.line < b.line;
  return a.column < b.column;
}

}  // namespace

ResourceLoad ConvertClusterResource(const YAML::Node& doc, const std::string& source,
                                    const ConvertOptions& options) {
  ResourceLoad load;
  ErrorSink sink(source, &load.errors);
  sink.RecordFieldsIn(options.knownFields);
  Converter c(&sink, options);
  bool has_body = false;
  try {
    has_body = c.Read(doc);
  } catch (const YAML::Exception& e) {  // yaml-cpp throws on odd shapes; edge of the library
    sink.At(e.mark, "(document)", std::string("cannot read: ") + e.what());
  }
  std::vector<SpecError> own = std::move(load.errors);
  load.errors.clear();
  SpecParseOptions validate;
  validate.checkSecretFiles = false;  // the files exist only inside the pods
  spec_internal::ValidateSpec(c.resource().spec, validate, has_body, &sink);
  for (auto& e : load.errors)
    if (ToResourcePath(&e)) own.push_back(std::move(e));
  load.errors = std::move(own);
  std::stable_sort(load.errors.begin(), load.errors.end(), ByPosition);
  if (load.errors.empty()) load.resource = std::move(c.resource());
  return load;
}

ResourceLoad ConvertClusterResourceText(const std::string& yaml_or_json, const std::string& source,
                                        const ConvertOptions& options) {
  YAML::Node doc;
  try {
    doc = YAML::Load(yaml_or_json);
  } catch (const YAML::Exception& e) {
    ResourceLoad load;
    ErrorSink sink(source, &load.errors);
    sink.At(e.mark, "(document)", "YAML/JSON syntax error: " + e.msg);
    return load;
  }
  return ConvertClusterResource(doc, source, options);
}

}  // namespace pgvigil::kube
