// PostgresCluster -> ClusterSpec: the example manifest, every field, the values
// the image fixes, instances to nodes, Secrets to mounted files, and the round
// trip of the result through the spec file format the pods read.
#include "controller/kube/cluster_resource.h"

#include <gtest/gtest.h>

#include "controller/kube/kube_test_util.h"

namespace pgvigil::kube {
namespace {

using testing_util::FindDocument;

ClusterResource MustConvert(const std::string& text) {
  ResourceLoad load = ConvertClusterResourceText(text, "test");
  EXPECT_TRUE(load.ok()) << load.ErrorText() << "\n--- document:\n" << text;
  return load.ok() ? *load.resource : ClusterResource{};
}

const char kEverything[] = R"(apiVersion: pgvigil.io/v1alpha1
kind: PostgresCluster
metadata: {name: shop, namespace: prod, uid: 1234, resourceVersion: "77", generation: 4}
spec:
  instances: 4
  image: registry.example/pgvigil:dev
  storage: {size: 1.5Gi, storageClass: fast-ssd}
  primary: shop-2
  instanceOverrides:
    - {name: shop-3, weight: 0, noFailover: true, noLoadBalance: true}
    - {name: shop-1, weight: 7}
  resources: {requests: {cpu: 500m, memory: 1Gi}, limits: {memory: 2Gi}}
  affinity: {podAntiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: []}}
  tolerations: [{key: dedicated, operator: Equal, value: db, effect: NoSchedule}]
  nodeSelector: {disk: ssd, "topology.kubernetes.io/zone": z1}
  postgres:
    version: 15
    parameters: {max_connections: "300", wal_level: logical, "auto_explain.log_min_duration": "250ms"}
    superuser: {name: admin, passwordSecret: {name: shop-su, key: pw}}
    replicationUser: {name: streamer, passwordSecret: {name: shop-repl, key: password}}
  healthCheck: {period: 2s, timeout: 3s, maxRetries: 4, retryDelay: 100ms, database: template1}
  failover: {automatic: false, requireConsensus: true, maximumLagBytes: 32Mi}
  recovery: {automatic: false, method: basebackup}
  replication: {mode: sync, synchronousCount: 2, slots: false}
  proxy:
    enabled: true
    port: 6432
    threads: 2
    maxClientConnections: 800
    maxUnauthenticatedConnections: 70
    authenticationTimeout: 15s
    pauseLimit: 2500ms
    pool: {maxIdle: 5, idleTimeout: 30s, mode: transaction, size: 8, queueTimeout: 5s, sessionState: pin,
           maxPreparedStatements: 250}
    backendAuth: {allowCleartext: true, allowMd5: true}
    loadBalancing: {enabled: false, delayThreshold: 1048576, disableOnWrite: always,
                    readOnlyFunctions: [now], writeFunctions: [nextval], readYourWrites: false}
    auth: {secret: {name: shop-pool-auth}}
    tls: {secret: {name: shop-proxy-tls}}
  watchdog: {enabled: true, port: 9100, heartbeatPort: 9700, heartbeatInterval: 200ms, deadTime: 1s,
             authKeySecret: {name: shop-wd, key: hmac}}
  api: {port: 9800, controllerPort: 9801, tokenSecret: {name: shop-api, key: token},
        tls: {secret: {name: shop-api-tls}}, headerTimeout: 4s, requestTimeout: 20s,
        idleTimeout: 90s, maxConnections: 64}
  services:
    rw: {type: NodePort}
    ro: {type: ClusterIP, annotations: {team: data}}
    pool: {type: LoadBalancer, annotations: {"service.beta.kubernetes.io/internal": "true"},
           loadBalancerSourceRanges: [10.0.0.0/8, "fd00::/8"]}
  nodeLossPolicy: RecreateAfterFence
  nodeLossGracePeriod: 2m
  podDeletionTimeout: 20m
status: {phase: Healthy, term: 9}
)";

TEST(ClusterResourceTest, EveryFieldArrives) {
  ClusterResource r = MustConvert(kEverything);
  EXPECT_EQ(r.name, "shop");
  EXPECT_EQ(r.ns, "prod");
  EXPECT_EQ(r.instances, 4);
  EXPECT_EQ(r.image, "registry.example/pgvigil:dev");
  EXPECT_EQ(r.storageSize, "1.5Gi");
  EXPECT_EQ(r.storageBytes, 3ull << 29);
  EXPECT_EQ(r.storageClass, "fast-ssd");
  EXPECT_EQ(r.resources["limits"]["memory"].Scalar(), "2Gi");
  EXPECT_TRUE(r.affinity["podAntiAffinity"].IsMap());
  ASSERT_EQ(r.tolerations.size(), 1u);
  EXPECT_EQ(r.tolerations[0]["key"].Scalar(), "dedicated");
  EXPECT_EQ(r.nodeSelector.at("topology.kubernetes.io/zone"), "z1");
  EXPECT_EQ(r.rw.type, ServiceType::kNodePort);
  EXPECT_EQ(r.ro.annotations.at("team"), "data");
  EXPECT_EQ(r.pool.type, ServiceType::kLoadBalancer);
  EXPECT_EQ(r.pool.loadBalancerSourceRanges, (std::vector<std::string>{"10.0.0.0/8", "fd00::/8"}));
  EXPECT_EQ(r.nodeLossPolicy, NodeLossPolicy::kRecreateAfterFence);
  EXPECT_EQ(r.nodeLossGracePeriod, std::chrono::minutes(2));
  EXPECT_EQ(r.podDeletionTimeout, std::chrono::minutes(20));

  const ClusterSpec& s = r.spec;
  EXPECT_EQ(s.name, "shop");
  ASSERT_EQ(s.nodes.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(s.nodes[i].name, "shop-" + std::to_string(i));
    EXPECT_EQ(s.nodes[i].host, "shop-" + std::to_string(i) + ".shop-hl.prod.svc");
    EXPECT_EQ(s.nodes[i].port, 0);  // postgres.port, fixed
  }
  EXPECT_EQ(s.nodes[1].weight, 7);
  EXPECT_FALSE(s.nodes[1].noFailover);
  EXPECT_EQ(s.nodes[3].weight, 0);
  EXPECT_TRUE(s.nodes[3].noFailover && s.nodes[3].noLoadBalance);
  EXPECT_EQ(s.nodes[0].weight, 1);
  EXPECT_EQ(s.primary, "shop-2");
  EXPECT_EQ(r.spec.postgres.parameters.at("wal_level"), "logical");
  EXPECT_EQ(r.spec.postgres.parameters.at("auto_explain.log_min_duration"), "250ms");
  EXPECT_EQ(s.postgres.superuser.name, "admin");
  EXPECT_EQ(s.postgres.superuser.passwordFile, "/etc/pgvigil/secrets/superuser/pw");
  EXPECT_EQ(s.postgres.replicationUser.name, "streamer");
  EXPECT_EQ(s.postgres.replicationUser.passwordFile, "/etc/pgvigil/secrets/replication-user/password");
  EXPECT_EQ(s.healthCheck.period, Millis(2000));
  EXPECT_EQ(s.healthCheck.timeout, Millis(3000));
  EXPECT_EQ(s.healthCheck.maxRetries, 4);
  EXPECT_EQ(s.healthCheck.retryDelay, Millis(100));
  EXPECT_EQ(s.healthCheck.database, "template1");
  EXPECT_FALSE(s.failover.automatic);
  EXPECT_EQ(s.failover.maximumLagBytes, 32ull << 20);
  EXPECT_FALSE(s.recovery.automatic);
  EXPECT_EQ(s.recovery.method, RecoveryMethod::kBasebackup);
  EXPECT_EQ(s.replication.mode, ReplicationMode::kSync);
  EXPECT_EQ(s.replication.synchronousCount, 2);
  EXPECT_FALSE(s.replication.slots);
  EXPECT_EQ(s.proxy.port, 6432);
  EXPECT_EQ(s.proxy.threads, 2);
  EXPECT_EQ(s.proxy.maxClientConnections, 800);
  EXPECT_EQ(s.proxy.pauseLimit, Millis(2500));
  EXPECT_EQ(s.proxy.pool.maxIdle, 5);
  EXPECT_EQ(s.proxy.pool.idleTimeout, Millis(30000));
  EXPECT_EQ(s.proxy.pool.mode, PoolMode::kTransaction);
  EXPECT_EQ(s.proxy.pool.size, 8);
  EXPECT_EQ(s.proxy.pool.queueTimeout, Millis(5000));
  EXPECT_EQ(s.proxy.pool.maxPreparedStatements, 250);
  EXPECT_EQ(s.proxy.pool.sessionState, SessionStatePolicy::kPin);
  EXPECT_EQ(s.proxy.maxUnauthenticatedConnections, 70);
  EXPECT_EQ(s.proxy.authenticationTimeout, Millis(15000));
  EXPECT_TRUE(s.proxy.backendAuth.allowCleartext);
  EXPECT_TRUE(s.proxy.backendAuth.allowMd5);
  EXPECT_FALSE(s.proxy.loadBalancing.enabled);
  EXPECT_FALSE(s.proxy.loadBalancing.readYourWrites);
  EXPECT_EQ(s.proxy.loadBalancing.delayThreshold, 1u << 20);
  EXPECT_EQ(s.proxy.loadBalancing.disableOnWrite, DisableOnWrite::kAlways);
  EXPECT_EQ(s.proxy.loadBalancing.readOnlyFunctions, std::vector<std::string>{"now"});
  EXPECT_EQ(s.proxy.loadBalancing.writeFunctions, std::vector<std::string>{"nextval"});
  EXPECT_EQ(s.proxy.auth.hbaFile, "/etc/pgvigil/secrets/proxy-auth/pool_hba.conf");
  EXPECT_EQ(s.proxy.auth.passwordFile, "/etc/pgvigil/secrets/proxy-auth/pool_passwd");
  EXPECT_EQ(s.proxy.auth.keyFile, "/etc/pgvigil/secrets/proxy-auth/pgpoolkey");
  EXPECT_EQ(s.proxy.tls.certFile, "/etc/pgvigil/secrets/proxy-tls/tls.crt");
  EXPECT_EQ(s.proxy.tls.keyFile, "/etc/pgvigil/secrets/proxy-tls/tls.key");
  EXPECT_EQ(s.watchdog.port, 9100);
  EXPECT_EQ(s.watchdog.heartbeatPort, 9700);
  EXPECT_EQ(s.watchdog.heartbeatInterval, Millis(200));
  EXPECT_EQ(s.watchdog.deadTime, Millis(1000));
  EXPECT_EQ(s.watchdog.authKeyFile, "/etc/pgvigil/secrets/watchdog-auth-key/hmac");
  EXPECT_EQ(s.api.port, 9800);
  EXPECT_EQ(s.api.controllerPort, 9801);
  EXPECT_EQ(s.api.headerTimeout, Millis(4000));
  EXPECT_EQ(s.api.requestTimeout, Millis(20000));
  EXPECT_EQ(s.api.idleTimeout, Millis(90000));
  EXPECT_EQ(s.api.maxConnections, 64);
  EXPECT_EQ(s.api.tokenFile, "/etc/pgvigil/secrets/api-token/token");
  EXPECT_EQ(s.api.tls.certFile, "/etc/pgvigil/secrets/api-tls/tls.crt");

  std::vector<SecretMount> want = {
      {"superuser", "shop-su", {"pw"}},
      {"replication-user", "shop-repl", {"password"}},
      {"proxy-auth", "shop-pool-auth", {"pool_hba.conf", "pool_passwd", "pgpoolkey"}},
      {"proxy-tls", "shop-proxy-tls", {"tls.crt", "tls.key"}},
      {"watchdog-auth-key", "shop-wd", {"hmac"}},
      {"api-token", "shop-api", {"token"}},
      {"api-tls", "shop-api-tls", {"tls.crt", "tls.key"}},
  };
  EXPECT_EQ(r.secrets, want);
}

TEST(ClusterResourceTest, TheImageFixesPortsDirectoriesAndListenAddresses) {
  ClusterResource r = MustConvert(kEverything);
  EXPECT_EQ(r.spec.postgres.port, 5432);
  EXPECT_EQ(r.spec.postgres.dataDirectory, "/var/lib/postgresql/data/pgdata");
  EXPECT_EQ(r.spec.postgres.binDirectory, "/usr/lib/postgresql/15/bin");
  EXPECT_EQ(r.spec.postgres.osUser, "postgres");
  EXPECT_EQ(r.spec.proxy.listen, "::");
  EXPECT_EQ(r.spec.api.listen, "::");
  EXPECT_FALSE(r.spec.vip.enabled());
}

TEST(ClusterResourceTest, ExampleManifestConverts) {
  YAML::Node doc = FindDocument("manifests/examples/k8s-cluster.yaml", "PostgresCluster");
  ASSERT_TRUE(doc.IsMap());
  ResourceLoad load = ConvertClusterResource(doc, "k8s-cluster.yaml");
  ASSERT_TRUE(load.ok()) << load.ErrorText();
  const ClusterResource& r = *load.resource;
  EXPECT_EQ(r.ns, "db");
  EXPECT_EQ(r.spec.nodes.size(), 3u);
  EXPECT_EQ(r.spec.nodes[2].host, "demo-2.demo-hl.db.svc");
  EXPECT_EQ(r.spec.postgres.parameters.at("shared_buffers"), "256MB");
  EXPECT_EQ(r.spec.replication.mode, ReplicationMode::kSync);
  EXPECT_EQ(r.pool.type, ServiceType::kLoadBalancer);
  EXPECT_EQ(r.storageBytes, 10ull << 30);
  // Every Secret the resource names is in the same file, with the keys used.
  std::map<std::string, YAML::Node> secrets;
  for (const YAML::Node& d : YAML::LoadAll(testing_util::RepoFile("manifests/examples/k8s-cluster.yaml")))
    if (d["kind"].Scalar() == "Secret") secrets[d["metadata"]["name"].Scalar()] = d;
  ASSERT_EQ(r.secrets.size(), 5u);
  for (const SecretMount& m : r.secrets) {
    ASSERT_TRUE(secrets.count(m.secretName)) << m.secretName;
    for (const auto& key : m.keys) EXPECT_TRUE(secrets[m.secretName]["stringData"][key]) << m.secretName << "/" << key;
  }
}

// The other Kubernetes examples (hack/chart-check.sh checks them against the
// CRD's schema): they convert, and every Secret they name is in the same file
// with the keys used.
TEST(ClusterResourceTest, MinimalAndSyncExamplesConvert) {
  struct Want {
    const char* file;
    size_t instances;
    ReplicationMode mode;
    int syncCount;
  };
  for (const Want& w : {Want{"manifests/examples/k8s-minimal.yaml", 3, ReplicationMode::kAsync, 0},
                        Want{"manifests/examples/k8s-sync.yaml", 5, ReplicationMode::kSync, 2}}) {
    SCOPED_TRACE(w.file);
    ResourceLoad load = ConvertClusterResource(FindDocument(w.file, "PostgresCluster"), w.file);
    ASSERT_TRUE(load.ok()) << load.ErrorText();
    const ClusterResource& r = *load.resource;
    EXPECT_EQ(r.spec.nodes.size(), w.instances);
    EXPECT_EQ(r.spec.replication.mode, w.mode);
    if (w.syncCount) {
      EXPECT_EQ(r.spec.replication.synchronousCount, w.syncCount);
    }
    std::map<std::string, YAML::Node> secrets;
    for (const YAML::Node& d : YAML::LoadAll(testing_util::RepoFile(w.file)))
      if (d["kind"].Scalar() == "Secret") secrets[d["metadata"]["name"].Scalar()] = d;
    ASSERT_FALSE(r.secrets.empty());
    for (const SecretMount& m : r.secrets) {
      ASSERT_TRUE(secrets.count(m.secretName)) << m.secretName;
      for (const auto& key : m.keys) EXPECT_TRUE(secrets[m.secretName]["stringData"][key]) << m.secretName << "/" << key;
    }
  }
}

TEST(ClusterResourceTest, DefaultsOfAMinimalResource) {
  ClusterResource r = MustConvert(R"({"apiVersion": "pgvigil.io/v1alpha1", "kind": "PostgresCluster",
    "metadata": {"name": "mini"},
    "spec": {"instances": 1, "storage": {"size": 1073741824},
             "watchdog": {"authKeySecret": {"name": "k", "key": "k"}}}})");
  EXPECT_EQ(r.ns, "default");
  EXPECT_EQ(r.image, DefaultImage());
  EXPECT_EQ(r.storageBytes, 1ull << 30);
  EXPECT_EQ(r.nodeLossPolicy, NodeLossPolicy::kWait);
  EXPECT_EQ(r.nodeLossGracePeriod, std::chrono::minutes(5));
  EXPECT_EQ(r.podDeletionTimeout, std::chrono::minutes(10));
  EXPECT_EQ(r.rw.type, ServiceType::kClusterIP);
  ASSERT_EQ(r.spec.nodes.size(), 1u);
  EXPECT_EQ(r.spec.nodes[0].host, "mini-0.mini-hl.default.svc");
  ClusterSpec vm_defaults;
  EXPECT_EQ(r.spec.healthCheck.period, vm_defaults.healthCheck.period);
  EXPECT_EQ(r.spec.watchdog.deadTime, vm_defaults.watchdog.deadTime);
  EXPECT_TRUE(r.spec.failover.requireConsensus);
  EXPECT_EQ(r.spec.postgres.superuser.passwordFile, "");
  EXPECT_EQ(r.secrets.size(), 1u);
}

// What the ConfigMap carries: the converted spec in the VM format, which the
// spec file parser must read back unchanged (secret files exist only in pods).
TEST(ClusterResourceTest, ConvertedSpecRoundTripsThroughTheSpecFile) {
  ClusterResource r = MustConvert(kEverything);
  SpecParseOptions options;
  options.checkSecretFiles = false;
  SpecLoad back = ParseSpec(SpecToYaml(r.spec), "cluster.yaml", options);
  ASSERT_TRUE(back.ok()) << back.ErrorText();
  EXPECT_EQ(*back.spec, r.spec);
}

TEST(ClusterResourceTest, ConversionIsDeterministic) {
  ClusterResource a = MustConvert(kEverything), b = MustConvert(kEverything);
  EXPECT_EQ(SpecToJson(a.spec), SpecToJson(b.spec));
  EXPECT_EQ(a.secrets, b.secrets);
}

}  // namespace
}  // namespace pgvigil::kube
