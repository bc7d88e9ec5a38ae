// Valid cluster specs: the documented defaults of a minimal spec, per-node
// effective values, the two example manifests, VIP command expansion, and the
// YAML/JSON round trip of every field.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "common/spec_parser.h"

namespace pgvigil {
namespace {

// The repository root, given by the build (common/CMakeLists.txt).
std::string RepoPath(const std::string& relative) { return std::string(PGVIGIL_SOURCE_DIR) + "/" + relative; }

SpecParseOptions NoSecrets() {
  SpecParseOptions o;
  o.checkSecretFiles = false;
  return o;
}

ClusterSpec MustParse(const std::string& text, const SpecParseOptions& options = NoSecrets()) {
  SpecLoad load = ParseSpec(text, "test.yaml", options);
  EXPECT_TRUE(load.ok()) << load.ErrorText() << "\n--- document:\n" << text;
  return load.ok() ? *load.spec : ClusterSpec{};
}

const char kMinimal[] = R"(apiVersion: pgvigil.io/v1alpha1
kind: PostgresCluster
metadata:
  name: mini
spec:
  nodes:
    - name: pg1
      host: 10.0.0.1
    - name: pg2
      host: 10.0.0.2
  watchdog:
    authKeyFile: /etc/pgvigil/watchdog.key
)";

TEST(SpecDefaultsTest, MinimalSpecGetsEveryDocumentedDefault) {
  ClusterSpec s = MustParse(kMinimal);
  EXPECT_EQ(s.apiVersion, "pgvigil.io/v1alpha1");
  EXPECT_EQ(s.kind, "PostgresCluster");
  EXPECT_EQ(s.name, "mini");

  EXPECT_EQ(s.postgres.version, 15);
  EXPECT_EQ(s.postgres.port, 5432);
  EXPECT_EQ(s.postgres.dataDirectory, "/var/lib/postgresql/15/main");
  EXPECT_EQ(s.postgres.binDirectory, "/usr/lib/postgresql/15/bin");
  EXPECT_EQ(s.postgres.superuser.name, "postgres");
  EXPECT_EQ(s.postgres.superuser.passwordFile, "");
  EXPECT_EQ(s.postgres.replicationUser.name, "repl");
  EXPECT_EQ(s.postgres.replicationUser.passwordFile, "");
  EXPECT_EQ(s.postgres.osUser, "postgres");

  ASSERT_EQ(s.nodes.size(), 2u);
  const NodeSpec& n = s.nodes[1];
  EXPECT_EQ(n.name, "pg2");
  EXPECT_EQ(n.host, "10.0.0.2");
  EXPECT_EQ(n.port, 0);
  EXPECT_EQ(n.dataDirectory, "");
  EXPECT_EQ(n.weight, 1);
  EXPECT_FALSE(n.noFailover);
  EXPECT_FALSE(n.noLoadBalance);
  EXPECT_EQ(n.proxyPort + n.apiPort + n.watchdogPort + n.heartbeatPort, 0);
  EXPECT_EQ(s.primary, "");

  EXPECT_FALSE(s.vip.enabled());
  EXPECT_EQ(s.vip.interface, "eth0");
  EXPECT_EQ(s.vip.upCommand, "/sbin/ip addr add $_IP_$/$_PREFIX_$ dev $_IFACE_$ label $_IFACE_$:0");
  EXPECT_EQ(s.vip.downCommand, "/sbin/ip addr del $_IP_$/$_PREFIX_$ dev $_IFACE_$");
  EXPECT_EQ(s.vip.arpingCommand, "/usr/bin/arping -U $_IP_$ -w 1 -I $_IFACE_$");
  EXPECT_EQ(s.vip.dadCommand, "/usr/bin/arping -D -c 1 -w 1 -I $_IFACE_$ $_IP_$");

  EXPECT_EQ(s.healthCheck.period, Millis(1000));
  EXPECT_EQ(s.healthCheck.timeout, Millis(2000));
  EXPECT_EQ(s.healthCheck.maxRetries, 2);
  EXPECT_EQ(s.healthCheck.retryDelay, Millis(250));
  EXPECT_EQ(s.healthCheck.database, "postgres");

  EXPECT_TRUE(s.failover.automatic);
  EXPECT_TRUE(s.failover.requireConsensus);
  EXPECT_EQ(s.failover.maximumLagBytes, 16u << 20);
  EXPECT_TRUE(s.recovery.automatic);
  EXPECT_EQ(s.recovery.method, RecoveryMethod::kRewindOrBasebackup);
  EXPECT_EQ(s.replication.mode, ReplicationMode::kAsync);
  EXPECT_EQ(s.replication.synchronousCount, 1);
  EXPECT_TRUE(s.replication.slots);

  EXPECT_TRUE(s.proxy.enabled);
  EXPECT_EQ(s.proxy.port, 9999);
  EXPECT_EQ(s.proxy.listen, "0.0.0.0");
  EXPECT_EQ(s.proxy.threads, 0);
  EXPECT_EQ(s.proxy.maxClientConnections, 10000);
  EXPECT_EQ(s.proxy.pauseLimit, Millis(5000));
  EXPECT_EQ(s.proxy.maxUnauthenticatedConnections, 1000);
  EXPECT_EQ(s.proxy.authenticationTimeout, Millis(60000));
  EXPECT_FALSE(s.proxy.backendAuth.allowCleartext || s.proxy.backendAuth.allowMd5);
  EXPECT_TRUE(s.proxy.loadBalancing.enabled);
  EXPECT_EQ(s.proxy.loadBalancing.delayThreshold, 10u << 20);
  EXPECT_EQ(s.proxy.loadBalancing.disableOnWrite, DisableOnWrite::kTransaction);
  EXPECT_TRUE(s.proxy.loadBalancing.readYourWrites);
  EXPECT_TRUE(s.proxy.loadBalancing.readOnlyFunctions.empty());
  EXPECT_TRUE(s.proxy.loadBalancing.writeFunctions.empty());
  EXPECT_EQ(s.proxy.pool.maxIdle, 20);
  EXPECT_EQ(s.proxy.pool.idleTimeout, Millis(600000));
  EXPECT_EQ(s.proxy.pool.mode, PoolMode::kSession);
  EXPECT_EQ(s.proxy.pool.size, 20);
  EXPECT_EQ(s.proxy.pool.queueTimeout, Millis(120000));
  EXPECT_EQ(s.proxy.pool.sessionState, SessionStatePolicy::kRefuse);
  EXPECT_EQ(s.proxy.pool.maxPreparedStatements, 1000);
  EXPECT_EQ(s.proxy.auth.hbaFile + s.proxy.auth.passwordFile + s.proxy.auth.keyFile, "");
  EXPECT_FALSE(s.proxy.tls.enabled());

  EXPECT_TRUE(s.watchdog.enabled);
  EXPECT_EQ(s.watchdog.port, 9000);
  EXPECT_EQ(s.watchdog.heartbeatPort, 9694);
  EXPECT_EQ(s.watchdog.heartbeatInterval, Millis(500));
  EXPECT_EQ(s.watchdog.deadTime, Millis(1500));
  EXPECT_EQ(s.watchdog.authKeyFile, "/etc/pgvigil/watchdog.key");

  EXPECT_EQ(s.api.port, 9898);
  EXPECT_EQ(s.api.controllerPort, 9900);
  EXPECT_EQ(s.api.listen, "0.0.0.0");
  EXPECT_EQ(s.api.tokenFile, "");
  EXPECT_FALSE(s.api.tls.enabled());

  // The parser's defaults are the model's: a default-constructed spec with the
  // same given fields is equal.
  ClusterSpec expected;
  expected.name = "mini";
  expected.nodes = {NodeSpec{}, NodeSpec{}};
  expected.nodes[0].name = "pg1";
  expected.nodes[0].host = "10.0.0.1";
  expected.nodes[1].name = "pg2";
  expected.nodes[1].host = "10.0.0.2";
  expected.watchdog.authKeyFile = "/etc/pgvigil/watchdog.key";
  EXPECT_EQ(s, expected);
}

TEST(SpecDefaultsTest, EffectivePerNodeValuesFallBackToSpecDefaults) {
  ClusterSpec s = MustParse(std::string(kMinimal) + R"(  postgres:
    port: 5500
    dataDirectory: /srv/pg
)");
  // Two nodes on one address, each with every override.
  ClusterSpec o = MustParse(R"(apiVersion: pgvigil.io/v1alpha1
kind: PostgresCluster
metadata: {name: loop, namespace: db, labels: {app: pg}}
spec:
  postgres: {port: 5500, dataDirectory: /srv/pg}
  nodes:
    - {name: a, host: 127.0.0.1, port: 6001, dataDirectory: /srv/a, proxyPort: 6101, apiPort: 6201,
       watchdogPort: 6301, heartbeatPort: 6401, weight: 0, tags: [noFailover, noLoadBalance]}
    - {name: b, host: 127.0.0.1, port: 6002, dataDirectory: /srv/b, proxyPort: 6102, apiPort: 6202,
       watchdogPort: 6302, heartbeatPort: 6402, tags: [noLoadBalance]}
  watchdog: {authKeyFile: /k, enabled: yes}
  proxy: {enabled: on}
status: {phase: Running}
)");
  const NodeSpec& d = s.nodes[0];
  EXPECT_EQ(s.PgPort(d), 5500);
  EXPECT_EQ(s.DataDir(d), "/srv/pg");
  EXPECT_EQ(s.ProxyPort(d), 9999);
  EXPECT_EQ(s.ApiPort(d), 9898);
  EXPECT_EQ(s.WatchdogPort(d), 9000);
  EXPECT_EQ(s.HeartbeatPort(d), 9694);

  ASSERT_EQ(o.nodes.size(), 2u);
  const NodeSpec* a = o.FindNode("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(o.PgPort(*a), 6001);
  EXPECT_EQ(o.DataDir(*a), "/srv/a");
  EXPECT_EQ(o.ProxyPort(*a), 6101);
  EXPECT_EQ(o.ApiPort(*a), 6201);
  EXPECT_EQ(o.WatchdogPort(*a), 6301);
  EXPECT_EQ(o.HeartbeatPort(*a), 6401);
  EXPECT_EQ(a->weight, 0);
  EXPECT_TRUE(a->noFailover);
  EXPECT_TRUE(a->noLoadBalance);
  const NodeSpec* b = o.FindNode("b");
  ASSERT_NE(b, nullptr);
  EXPECT_FALSE(b->noFailover);
  EXPECT_TRUE(b->noLoadBalance);
  EXPECT_EQ(o.FindNode("c"), nullptr);
}

TEST(SpecExamplesTest, ClusterYamlIsTheSeedCluster) {
  SpecLoad load = LoadSpecFile(RepoPath("manifests/examples/cluster.yaml"), NoSecrets());
  ASSERT_TRUE(load.ok()) << load.ErrorText();
  const ClusterSpec& s = *load.spec;
  EXPECT_EQ(s.name, "seed");
  ASSERT_EQ(s.nodes.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(s.nodes[i].name, "server" + std::to_string(i + 1));
    EXPECT_EQ(s.nodes[i].host, "192.168.137.10" + std::to_string(i + 1));
    EXPECT_EQ(s.PgPort(s.nodes[i]), 5432);
    EXPECT_EQ(s.ProxyPort(s.nodes[i]), 9999);
    EXPECT_EQ(s.ApiPort(s.nodes[i]), 9898);
    EXPECT_EQ(s.WatchdogPort(s.nodes[i]), 9000);
    EXPECT_EQ(s.HeartbeatPort(s.nodes[i]), 9694);
  }
  EXPECT_EQ(s.primary, "") << "no desired primary: no switch back after a failover";
  EXPECT_EQ(s.vip.address, "192.168.137.150/24");
  EXPECT_EQ(s.vip.ip(), "192.168.137.150");
  EXPECT_EQ(s.vip.prefix(), 24);
  EXPECT_EQ(s.vip.interface, "enp0s8");
  EXPECT_EQ(s.vip.Expand(s.vip.upCommand),
            "/usr/bin/sudo /sbin/ip addr add 192.168.137.150/24 dev enp0s8 label enp0s8:0");
  EXPECT_EQ(s.healthCheck.period, Millis(5000));
  EXPECT_EQ(s.healthCheck.timeout, Millis(30000));
  EXPECT_EQ(s.healthCheck.maxRetries, 3);
  EXPECT_EQ(s.failover.maximumLagBytes, 16u << 20);
  EXPECT_EQ(s.postgres.superuser.passwordFile, "/etc/pgvigil/secrets/postgres.password");
  EXPECT_EQ(s.watchdog.authKeyFile, "/etc/pgvigil/secrets/watchdog.key");
}

TEST(SpecExamplesTest, ClusterYamlNamesEveryMissingSecretFile) {
  struct stat st{};
  if (stat("/etc/pgvigil", &st) == 0) GTEST_SKIP() << "/etc/pgvigil exists on this machine";
  SpecLoad load = LoadSpecFile(RepoPath("manifests/examples/cluster.yaml"));
  ASSERT_FALSE(load.ok());
  EXPECT_EQ(load.errors.size(), 7u) << load.ErrorText();
  for (const auto& e : load.errors) {
    EXPECT_NE(e.reason.find("does not exist"), std::string::npos) << e.ToString();
    EXPECT_GT(e.line, 0) << e.ToString();
  }
}

TEST(SpecExamplesTest, LabYamlIsTheSameClusterAtLabAddresses) {
  SpecLoad load = LoadSpecFile(RepoPath("manifests/examples/lab.yaml"), NoSecrets());
  ASSERT_TRUE(load.ok()) << load.ErrorText();
  const ClusterSpec& s = *load.spec;
  ASSERT_EQ(s.nodes.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    std::string name = "server" + std::to_string(i + 1);
    EXPECT_EQ(s.nodes[i].name, name);
    EXPECT_EQ(s.nodes[i].host, "10.77.0.1" + std::to_string(i + 1));
    EXPECT_EQ(s.DataDir(s.nodes[i]), "/tmp/pgvigil-lab/" + name + "/data");
  }
  EXPECT_EQ(s.vip.ip(), "10.77.0.150");
  EXPECT_EQ(s.vip.prefix(), 24);
  EXPECT_EQ(s.vip.interface, "eth0");
  EXPECT_EQ(s.proxy.port, 9999);
}

TEST(SpecSecretsTest, ExistingSecretFilesPassAndDirectoriesDoNot) {
  char dir[] = "/tmp/pgvigil-spectest-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string key = std::string(dir) + "/watchdog.key";
  std::ofstream(key) << "secret\n";
  std::string doc = std::string(kMinimal);
  doc.replace(doc.find("/etc/pgvigil/watchdog.key"), 25, key);
  chmod(key.c_str(), 0644);  // others may read it: refused, naming file and mode
  SpecLoad readable = ParseSpec(doc, "t.yaml");
  ASSERT_EQ(readable.errors.size(), 1u) << readable.ErrorText();
  EXPECT_EQ(readable.errors[0].path, "spec.watchdog.authKeyFile");
  EXPECT_NE(readable.errors[0].reason.find(key + ": secret file has mode 0644"), std::string::npos)
      << readable.errors[0].reason;
  chmod(key.c_str(), 0600);
  EXPECT_TRUE(ParseSpec(doc, "t.yaml").ok());
  std::string as_dir = doc;
  as_dir.replace(as_dir.find(key), key.size(), dir);
  SpecLoad load = ParseSpec(as_dir, "t.yaml");
  ASSERT_EQ(load.errors.size(), 1u) << load.ErrorText();
  EXPECT_EQ(load.errors[0].path, "spec.watchdog.authKeyFile");
  EXPECT_NE(load.errors[0].reason.find("not a regular file"), std::string::npos);
  unlink(key.c_str());
  rmdir(dir);
}

TEST(VipSpecTest, ExpandSubstitutesEveryPlaceholder) {
  VipSpec v;
  v.address = "10.0.0.150/24";
  v.interface = "eth1";
  EXPECT_EQ(v.Expand(v.upCommand), "/sbin/ip addr add 10.0.0.150/24 dev eth1 label eth1:0");
  EXPECT_EQ(v.Expand(v.downCommand), "/sbin/ip addr del 10.0.0.150/24 dev eth1");
  EXPECT_EQ(v.Expand(v.arpingCommand), "/usr/bin/arping -U 10.0.0.150 -w 1 -I eth1");
  EXPECT_EQ(v.Expand("echo $_IP_$ $_IP_$ $_PREFIX_$$_IFACE_$"), "echo 10.0.0.150 10.0.0.150 24eth1");
  EXPECT_EQ(v.Expand("no placeholders"), "no placeholders");
  v.address = "10.0.0.150";  // no prefix: a single address
  EXPECT_EQ(v.ip(), "10.0.0.150");
  EXPECT_EQ(v.prefix(), 32);
  EXPECT_EQ(v.Expand(v.downCommand), "/sbin/ip addr del 10.0.0.150/32 dev eth1");
}

// Every field away from its default, strings that need quoting and escapes.
ClusterSpec EverythingSet() {
  ClusterSpec s;
  s.name = "all-fields-1";
  auto& p = s.postgres;
  p.version = 16;
  p.port = 5433;
  p.dataDirectory = "/data/pg 16/main";
  p.binDirectory = "/opt/pg: bin/#not a comment";
  p.parameters = {{"work_mem", "4MB"}, {"log_line_prefix", "%m it's \\ #not a comment"},
                  {"auto_explain.log_min_duration", "250ms"}};
  p.superuser = {"admin", "/etc/s/\"admin\".pw"};
  p.replicationUser = {"replicator", "/etc/s/back\\slash.pw"};
  p.osUser = "pgsql";
  NodeSpec a, b, c;
  a = {"n1", "10.1.0.1", 5434, "/d1", 0, true, false, 7000, 7001, 7002, 7003};
  b = {"n2", "10.1.0.2", 0, "", 5, false, true, 0, 0, 0, 0};
  c = {"n3", "db3.example.com", 0, "", 10000, true, true, 0, 0, 0, 0};
  s.nodes = {a, b, c};
  s.primary = "n2";
  s.vip.address = "10.1.0.200/16";
  s.vip.interface = "bond0";
  s.vip.upCommand = "/usr/bin/sudo /sbin/ip addr add \"$_IP_$/$_PREFIX_$\" dev $_IFACE_$ # 'x' \\ y";
  s.vip.downCommand = "down\ttab\r\nnewline";
  s.vip.arpingCommand = "arping \x01 caf\xc3\xa9 {not: a map} [nor, a list] &anchor *alias";
  s.healthCheck = {Millis(2500), Millis(7000), 5, std::chrono::minutes(2), "db: \"quoted\""};
  s.failover = {false, false, 1000};
  s.recovery = {false, RecoveryMethod::kBasebackup};
  s.replication = {ReplicationMode::kSync, 2, false};
  auto& x = s.proxy;
  x.enabled = false;
  x.port = 6432;
  x.listen = "127.0.0.1";
  x.threads = 4;
  x.maxClientConnections = 500;
  x.pauseLimit = Millis(1500);
  x.maxUnauthenticatedConnections = 77;
  x.authenticationTimeout = Millis(2500);
  x.backendAuth = {true, true};
  x.loadBalancing = {false, 1ull << 30, DisableOnWrite::kAlways, false, {"now", "my\"fn", "true", "42"},
                     {"nextval", "null", ""}};
  x.pool = {7, Millis(90000), PoolMode::kTransaction, 4, Millis(2500), SessionStatePolicy::kPin, 300};
  x.auth = {"/etc/hba", "/etc/pool passwd", "/etc/key"};
  x.tls = {"/etc/c.pem", "/etc/c.key"};
  auto& w = s.watchdog;
  w = {false, 9100, 9200, Millis(200), Millis(1000), "/etc/wd key"};
  s.api = {9800, 9801, "::", "/etc/token", {"/etc/a.pem", "/etc/a.key"}};
  return s;
}

TEST(SpecRoundTripTest, EveryFieldSurvivesYamlAndJson) {
  ClusterSpec original = EverythingSet();
  for (bool json : {false, true}) {
    SCOPED_TRACE(json ? "json" : "yaml");
    std::string text = json ? SpecToJson(original) : SpecToYaml(original);
    ClusterSpec back = MustParse(text);
    EXPECT_EQ(back, original) << text;
    // Field by field too, so a field the writer forgot cannot hide behind ==.
    EXPECT_EQ(back.postgres.binDirectory, original.postgres.binDirectory);
    EXPECT_EQ(back.postgres.superuser.passwordFile, "/etc/s/\"admin\".pw");
    EXPECT_EQ(back.postgres.replicationUser.passwordFile, "/etc/s/back\\slash.pw");
    EXPECT_EQ(back.postgres.osUser, "pgsql");
    EXPECT_EQ(back.postgres.parameters, original.postgres.parameters);
    ASSERT_EQ(back.nodes.size(), 3u);
    EXPECT_EQ(back.nodes[0].port, 5434);
    EXPECT_EQ(back.nodes[0].dataDirectory, "/d1");
    EXPECT_EQ(back.nodes[0].weight, 0);
    EXPECT_TRUE(back.nodes[0].noFailover);
    EXPECT_FALSE(back.nodes[0].noLoadBalance);
    EXPECT_EQ(back.nodes[0].heartbeatPort, 7003);
    EXPECT_TRUE(back.nodes[2].noFailover && back.nodes[2].noLoadBalance);
    EXPECT_EQ(back.nodes[2].weight, 10000);
    EXPECT_EQ(back.vip.upCommand, original.vip.upCommand);
    EXPECT_EQ(back.vip.downCommand, "down\ttab\r\nnewline");
    EXPECT_EQ(back.vip.arpingCommand, original.vip.arpingCommand);
    EXPECT_EQ(back.vip.dadCommand, original.vip.dadCommand);
    EXPECT_EQ(back.healthCheck.period, Millis(2500));
    EXPECT_EQ(back.healthCheck.retryDelay, Millis(120000));
    EXPECT_EQ(back.healthCheck.database, "db: \"quoted\"");
    EXPECT_EQ(back.failover.maximumLagBytes, 1000u);
    EXPECT_FALSE(back.failover.requireConsensus);
    EXPECT_EQ(back.recovery.method, RecoveryMethod::kBasebackup);
    EXPECT_EQ(back.replication.mode, ReplicationMode::kSync);
    EXPECT_EQ(back.replication.synchronousCount, 2);
    EXPECT_FALSE(back.replication.slots);
    EXPECT_FALSE(back.proxy.enabled);
    EXPECT_EQ(back.proxy.threads, 4);
    EXPECT_EQ(back.proxy.maxClientConnections, 500);
    EXPECT_EQ(back.proxy.pauseLimit, Millis(1500));
    EXPECT_EQ(back.proxy.maxUnauthenticatedConnections, 77);
    EXPECT_EQ(back.proxy.authenticationTimeout, Millis(2500));
    EXPECT_TRUE(back.proxy.backendAuth.allowCleartext && back.proxy.backendAuth.allowMd5);
    EXPECT_EQ(back.proxy.loadBalancing.disableOnWrite, DisableOnWrite::kAlways);
    EXPECT_FALSE(back.proxy.loadBalancing.readYourWrites);
    EXPECT_EQ(back.proxy.loadBalancing.delayThreshold, 1ull << 30);
    EXPECT_EQ(back.proxy.loadBalancing.readOnlyFunctions, original.proxy.loadBalancing.readOnlyFunctions);
    EXPECT_EQ(back.proxy.loadBalancing.writeFunctions, original.proxy.loadBalancing.writeFunctions);
    EXPECT_EQ(back.proxy.pool.maxIdle, 7);
    EXPECT_EQ(back.proxy.pool.idleTimeout, Millis(90000));
    EXPECT_EQ(back.proxy.pool.mode, PoolMode::kTransaction);
    EXPECT_EQ(back.proxy.pool.size, 4);
    EXPECT_EQ(back.proxy.pool.queueTimeout, Millis(2500));
    EXPECT_EQ(back.proxy.pool.sessionState, SessionStatePolicy::kPin);
    EXPECT_EQ(back.proxy.pool.maxPreparedStatements, 300);
    EXPECT_EQ(back.proxy.auth.passwordFile, "/etc/pool passwd");
    EXPECT_EQ(back.proxy.tls.keyFile, "/etc/c.key");
    EXPECT_FALSE(back.watchdog.enabled);
    EXPECT_EQ(back.watchdog.heartbeatPort, 9200);
    EXPECT_EQ(back.watchdog.heartbeatInterval, Millis(200));
    EXPECT_EQ(back.watchdog.authKeyFile, "/etc/wd key");
    EXPECT_EQ(back.api.controllerPort, 9801);
    EXPECT_EQ(back.api.listen, "::");
    EXPECT_EQ(back.api.tls.certFile, "/etc/a.pem");
    // Canonical: writing the parsed spec gives the same text.
    EXPECT_EQ(json ? SpecToJson(back) : SpecToYaml(back), text);
  }
}

TEST(SpecRoundTripTest, ExamplesAndMinimalSpecSurvive) {
  std::vector<ClusterSpec> specs = {MustParse(kMinimal)};
  for (const char* f : {"manifests/examples/cluster.yaml", "manifests/examples/lab.yaml"}) {
    SpecLoad load = LoadSpecFile(RepoPath(f), NoSecrets());
    ASSERT_TRUE(load.ok()) << f << ": " << load.ErrorText();
    specs.push_back(*load.spec);
  }
  for (const auto& s : specs) {
    SCOPED_TRACE(s.name);
    EXPECT_EQ(MustParse(SpecToYaml(s)), s);
    EXPECT_EQ(MustParse(SpecToJson(s)), s);
  }
}

TEST(SpecRoundTripTest, EqualityNoticesADifference) {
  ClusterSpec a = EverythingSet(), b = EverythingSet();
  EXPECT_EQ(a, b);
  b.nodes[1].heartbeatPort = 1;
  EXPECT_NE(a, b);
  b = a;
  b.proxy.loadBalancing.writeFunctions.pop_back();
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace pgvigil
