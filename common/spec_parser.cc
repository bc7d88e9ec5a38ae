// Reads a cluster spec document field by field (spec_reader.h), then runs the
// checks that span fields (spec_validate.cc). Every problem is reported; the
// spec is returned only when there are none.
#include "common/spec_parser.h"

#include <algorithm>

#include "common/files.h"
#include "common/spec_reader.h"
#include "common/spec_sections.h"

namespace pgvigil {

namespace spec_internal {
void ValidateSpec(const ClusterSpec& spec, const SpecParseOptions& options, bool with_body,
                  ErrorSink* sink);
}

using spec_internal::ErrorSink;
using spec_internal::MapReader;

std::string SpecError::ToString() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + path + ": " +
         reason;
}

std::string SpecLoad::ErrorText() const {
  std::string out;
  for (const auto& e : errors) out += (out.empty() ? "" : "\n") + e.ToString();
  return out;
}

namespace {


void ReadUser(MapReader& parent, const std::string& key, UserRef* user, ErrorSink* sink) {
  MapReader r(sink, parent.Take(key), parent.Child(key));
  r.String("name", &user->name);
  r.String("passwordFile", &user->passwordFile);
}

void ReadTls(MapReader& parent, TlsSpec* tls, ErrorSink* sink) {
  MapReader r(sink, parent.Take("tls"), parent.Child("tls"));
  r.String("certFile", &tls->certFile);
  r.String("keyFile", &tls->keyFile);
}

void ReadPostgres(MapReader& spec, PostgresSpec* p, ErrorSink* sink) {
  MapReader r(sink, spec.Take("postgres"), spec.Child("postgres"));
  r.Int("version", &p->version, 13, 17);
  r.Port("port", &p->port);
  r.String("dataDirectory", &p->dataDirectory);
  r.String("binDirectory", &p->binDirectory);
  r.String("osUser", &p->osUser);
  r.StringMap("parameters", &p->parameters);
  ReadUser(r, "superuser", &p->superuser, sink);
  ReadUser(r, "replicationUser", &p->replicationUser, sink);
}

void ReadNode(ErrorSink* sink, const YAML::Node& node, const std::string& path, NodeSpec* n) {
  MapReader r(sink, node, path);
  if (!r.present()) {
    // A non-mapping was already reported by MapReader; an empty item was not.
    if (!node.IsDefined() || node.IsNull())
      sink->At(node.Mark(), path, "expected a node with name and host");
    return;
  }
  r.String("name", &n->name, true);
  r.String("host", &n->host, true);
  r.Port("port", &n->port, true);
  r.String("dataDirectory", &n->dataDirectory);
  r.Int("weight", &n->weight, 0, 10000);
  std::vector<std::string> tags;
  r.StringList("tags", &tags);
  static const std::vector<std::string> kTags = {"noFailover", "noLoadBalance"};
  for (size_t i = 0; i < tags.size(); ++i) {
    if (tags[i] == "noFailover") {
      n->noFailover = true;
    } else if (tags[i] == "noLoadBalance") {
      n->noLoadBalance = true;
    } else {
      std::string hint = spec_internal::DidYouMean(tags[i], kTags);
      sink->AtPath(r.Child("tags"), "unknown tag '" + tags[i] + "' (noFailover, noLoadBalance)" +
                                        (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
    }
  }
  r.Port("proxyPort", &n->proxyPort, true);
  r.Port("apiPort", &n->apiPort, true);
  r.Port("watchdogPort", &n->watchdogPort, true);
  r.Port("heartbeatPort", &n->heartbeatPort, true);
}

void ReadNodes(MapReader& spec, std::vector<NodeSpec>* nodes, ErrorSink* sink) {
  YAML::Node list = spec.Take("nodes");
  std::string path = spec.Child("nodes");
  if (!list.IsDefined() || list.IsNull()) {
    sink->AtPath(path, "required field is missing: list the PostgreSQL nodes");
    return;
  }
  if (!list.IsSequence()) {
    sink->At(list.Mark(), path, "expected a list of nodes");
    return;
  }
  if (list.size() == 0) {
    sink->At(list.Mark(), path, "at least one node is required");
    return;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    NodeSpec n;
    ReadNode(sink, list[i], path + "[" + std::to_string(i) + "]", &n);
    nodes->push_back(std::move(n));
  }
}

void ReadProxy(MapReader& spec, ProxySpec* p, ErrorSink* sink) {
  MapReader r(sink, spec.Take("proxy"), spec.Child("proxy"));
  r.Bool("enabled", &p->enabled);
  r.Port("port", &p->port);
  r.String("listen", &p->listen);
  r.Int("threads", &p->threads, 0, 256);
  r.Int("maxClientConnections", &p->maxClientConnections, 1, 1000000);
  r.Int("maxUnauthenticatedConnections", &p->maxUnauthenticatedConnections, 1, 1000000);
  r.Duration("authenticationTimeout", &p->authenticationTimeout, Millis(100), std::chrono::minutes(10));
  r.Duration("pauseLimit", &p->pauseLimit, Millis(0), std::chrono::minutes(10));
  {
    auto& lb = p->loadBalancing;
    MapReader b(sink, r.Take("loadBalancing"), r.Child("loadBalancing"));
    b.Bool("enabled", &lb.enabled);
    b.Size("delayThreshold", &lb.delayThreshold, 0, 1ull << 40);
    int w = b.Choice("disableOnWrite", {"transaction", "always", "off"});
    if (w >= 0) lb.disableOnWrite = static_cast<DisableOnWrite>(w);
    b.Bool("readYourWrites", &lb.readYourWrites);
    b.StringList("readOnlyFunctions", &lb.readOnlyFunctions);
    b.StringList("writeFunctions", &lb.writeFunctions);
  }
  ReadProxyPoolSection(r, &p->pool, sink);
  {
    MapReader a(sink, r.Take("auth"), r.Child("auth"));
    a.String("hbaFile", &p->auth.hbaFile);
    a.String("passwordFile", &p->auth.passwordFile);
    a.String("keyFile", &p->auth.keyFile);
  }
  {
    MapReader a(sink, r.Take("backendAuth"), r.Child("backendAuth"));
    a.Bool("allowCleartext", &p->backendAuth.allowCleartext);
    a.Bool("allowMd5", &p->backendAuth.allowMd5);
  }
  ReadTls(r, &p->tls, sink);
}

void ReadSpecBody(MapReader& spec, ClusterSpec* s, ErrorSink* sink) {
  ReadPostgres(spec, &s->postgres, sink);
  ReadNodes(spec, &s->nodes, sink);
  spec.String("primary", &s->primary);
  {
    MapReader r(sink, spec.Take("vip"), spec.Child("vip"));
    r.String("address", &s->vip.address);
    r.String("interface", &s->vip.interface);
    r.String("upCommand", &s->vip.upCommand);
    r.String("downCommand", &s->vip.downCommand);
    r.String("arpingCommand", &s->vip.arpingCommand);
    r.String("dadCommand", &s->vip.dadCommand);
  }
  ReadHealthCheckSection(spec, &s->healthCheck, sink);
  {
    MapReader r(sink, spec.Take("failover"), spec.Child("failover"));
    r.Bool("automatic", &s->failover.automatic);
    r.Bool("requireConsensus", &s->failover.requireConsensus);
    r.Size("maximumLagBytes", &s->failover.maximumLagBytes, 0, 1ull << 50);
  }
  ReadRecoverySection(spec, &s->recovery, sink);
  ReadReplicationSection(spec, &s->replication, sink);
  ReadProxy(spec, &s->proxy, sink);
  {
    auto& w = s->watchdog;
    MapReader r(sink, spec.Take("watchdog"), spec.Child("watchdog"));
    r.Bool("enabled", &w.enabled);
    r.Port("port", &w.port);
    r.Port("heartbeatPort", &w.heartbeatPort);
    r.Duration("heartbeatInterval", &w.heartbeatInterval, Millis(50), std::chrono::seconds(10));
    r.Duration("deadTime", &w.deadTime, Millis(100), std::chrono::minutes(5));
    r.String("authKeyFile", &w.authKeyFile);
  }
  {
    MapReader r(sink, spec.Take("api"), spec.Child("api"));
    r.Port("port", &s->api.port);
    r.Port("controllerPort", &s->api.controllerPort);
    r.String("listen", &s->api.listen);
    r.String("tokenFile", &s->api.tokenFile);
    ReadTls(r, &s->api.tls, sink);
    r.Duration("headerTimeout", &s->api.headerTimeout, Millis(100), std::chrono::minutes(5));
    r.Duration("requestTimeout", &s->api.requestTimeout, Millis(100), std::chrono::minutes(30));
    r.Duration("idleTimeout", &s->api.idleTimeout, Millis(100), std::chrono::hours(1));
    r.Int("maxConnections", &s->api.maxConnections, 1, 100000);
  }
}

bool ByPosition(const SpecError& a, const SpecError& b) {
  if (a.line != b.line) return a.line < b.line;
  return a.column < b.column;
}

}  // namespace

SpecLoad ParseSpec(const std::string& yaml_text, const std::string& file_name,
                   const SpecParseOptions& options) {
  SpecLoad load;
  ErrorSink sink(file_name, &load.errors);
  YAML::Node doc;
  try {
    doc = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    sink.At(e.mark, "(document)", "YAML syntax error: " + e.msg);
    return load;
  }
  if (!doc.IsDefined() || doc.IsNull()) {
    sink.At(YAML::Mark::null_mark(), "(document)", "the file is empty");
    return load;
  }
  ClusterSpec spec;
  bool has_body = false;
  {
    MapReader top(&sink, doc, "");
    if (!top.present()) {  // a list or a scalar: the one error is about the document
      for (auto& e : load.errors) e.path = "(document)";
      return load;
    }
    // Paths are written without the leading dot: "spec.nodes[0].host".
    // Take() of an absent key yields a null node, so absence is asked with Has().
    YAML::Node api = top.Take("apiVersion"), kind = top.Take("kind");
    if (!top.Has("apiVersion")) {
      sink.At(doc.Mark(), "apiVersion", "required field is missing (pgvigil.io/v1alpha1)");
    } else if (!api.IsScalar() || api.Scalar() != "pgvigil.io/v1alpha1") {
      sink.At(api.Mark(), "apiVersion", "unsupported apiVersion (expected pgvigil.io/v1alpha1)");
    }
    if (!top.Has("kind")) {
      sink.At(doc.Mark(), "kind", "required field is missing (PostgresCluster)");
    } else if (!kind.IsScalar() || kind.Scalar() != "PostgresCluster") {
      sink.At(kind.Mark(), "kind", "unsupported kind (expected PostgresCluster)");
    }
    {
      YAML::Node meta = top.Take("metadata");
      MapReader m(&sink, meta, "metadata");
      if (!top.Has("metadata") || meta.IsNull())
        sink.At(top.Has("metadata") ? meta.Mark() : doc.Mark(), "metadata.name",
                "required field is missing");
      m.String("name", &spec.name, true);
      m.Take("labels");
      m.Take("annotations");
      m.Take("namespace");
    }
    YAML::Node body = top.Take("spec");
    if (!body.IsDefined() || body.IsNull()) {
      sink.At(doc.Mark(), "spec", "required field is missing");
    } else {
      MapReader s(&sink, body, "spec");
      if (s.present()) ReadSpecBody(s, &spec, &sink);
      has_body = s.present();
    }
    top.Take("status");  // a custom resource read back from Kubernetes carries one
  }
  // The top-level reader reports unknown keys with a leading "."; tidy the paths.
  for (auto& e : load.errors)
    if (!e.path.empty() && e.path[0] == '.') e.path.erase(0, 1);
  // Cross-field checks run even after field errors, so every problem shows at once;
  // they skip fields left empty by an earlier error. Without a spec mapping only
  // the metadata is checked (the defaults of an absent body prove nothing).
  spec_internal::ValidateSpec(spec, options, has_body, &sink);
  std::stable_sort(load.errors.begin(), load.errors.end(), ByPosition);
  if (load.errors.empty()) load.spec = std::move(spec);
  return load;
}

SpecLoad LoadSpecFile(const std::string& path, const SpecParseOptions& options) {
  auto text = ReadFile(path);
  if (!text.ok()) {
    SpecLoad load;
    load.errors.push_back(SpecError{path, 0, 0, "(file)", "cannot read: " + text.error()});
    return load;
  }
  return ParseSpec(*text, path, options);
}

}  // namespace pgvigil
