// Invalid cluster specs: each case is a small document and the one problem it
// must report, with the exact field path, 1-based line and column, and the key
// words of the reason a user reads. Most cases append a few lines to kBase
// (which is valid with checkSecretFiles off), so their first own line is 13.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/spec_parser.h"

namespace pgvigil {
namespace {

// Lines 1-5.
const char kHead[] =
    "apiVersion: pgvigil.io/v1alpha1\n"
    "kind: PostgresCluster\n"
    "metadata:\n"
    "  name: demo\n"
    "spec:\n";

// Lines 6-12 after kHead. Appended text starting at column 3 adds a spec section,
// at column 7 adds fields to node server2, "    - " adds a node.
const char kNodes[] =
    "  watchdog:\n"
    "    authKeyFile: /nonexistent/pgvigil-test/watchdog.key\n"
    "  nodes:\n"
    "    - name: server1\n"
    "      host: 10.0.0.1\n"
    "    - name: server2\n"
    "      host: 10.0.0.2\n";

std::string Base(const std::string& tail) { return std::string(kHead) + kNodes + tail; }
std::string Head(const std::string& body) { return std::string(kHead) + body; }
// `text` with the first `from` replaced by `to`.
std::string With(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

struct InvalidCase {
  std::string name;  // test name suffix
  std::string text;
  std::string path;
  int line;
  int column;
  std::string reason;  // a part of the reason that must appear
  size_t count = 1;    // how many errors in total (all others are other problems)
  bool checkSecrets = false;
};

std::vector<InvalidCase> Cases() {
  return {
      // Unknown fields, with a did-you-mean.
      {"UnknownTopLevelField", Base("specs: {}\n"), "specs", 13, 1, "unknown field (did you mean 'spec'?)"},
      {"UnknownSpecField", Base("  nodess: []\n"), "spec.nodess", 13, 3, "unknown field (did you mean 'nodes'?)"},
      {"UnknownNestedField", Base("  proxy:\n    porrt: 1\n"), "spec.proxy.porrt", 14, 5,
       "unknown field (did you mean 'port'?)"},
      {"UnknownNodeField", Base("      weigth: 3\n"), "spec.nodes[1].weigth", 13, 7,
       "unknown field (did you mean 'weight'?)"},
      {"UnknownMetadataField",
       With(Head("  watchdog: {enabled: false}\n  nodes: [{name: a, host: h}]\n"), "name: demo", "nam: demo"),
       "metadata.nam", 4, 3, "unknown field (did you mean 'name'?)", 2},  // and name is missing
      // Wrong types.
      {"StringForInt", Base("  proxy:\n    port: abc\n"), "spec.proxy.port", 14, 11,
       "expected an integer, got 'abc'"},
      {"ListForInt", Base("  proxy:\n    port: [1]\n"), "spec.proxy.port", 14, 11, "expected an integer"},
      {"ListForMap", Base("  vip: [1]\n"), "spec.vip", 13, 8, "expected a mapping of fields"},
      {"MapForString", Base("  primary: {a: 1}\n"), "spec.primary", 13, 12, "expected a string"},
      {"WordForBool", Base("  proxy:\n    enabled: maybe\n"), "spec.proxy.enabled", 14, 14,
       "expected true or false, got 'maybe'"},
      {"ScalarForList", Base("  proxy:\n    loadBalancing:\n      readOnlyFunctions: now\n"),
       "spec.proxy.loadBalancing.readOnlyFunctions", 15, 26, "expected a list of strings"},
      {"NodeIsScalar", Base("    - 10.0.0.3\n"), "spec.nodes[2]", 13, 7, "expected a mapping of fields"},
      {"NodesNotAList", Head("  watchdog:\n    enabled: false\n  nodes: 3\n"), "spec.nodes", 8, 10,
       "expected a list of nodes"},
      {"DocumentIsAList", "- a\n- b\n", "(document)", 1, 1, "expected a mapping of fields"},
      // Out of range.
      {"PortTooHigh", Base("  proxy:\n    port: 70000\n"), "spec.proxy.port", 14, 11,
       "out of range: 70000 (allowed 1..65535)"},
      {"NodePortTooHigh", Base("      port: 65536\n"), "spec.nodes[1].port", 13, 13,
       "out of range: 65536 (allowed 0..65535)"},
      {"NegativeWeight", Base("      weight: -1\n"), "spec.nodes[1].weight", 13, 15,
       "out of range: -1 (allowed 0..10000)"},
      {"PostgresVersion", Base("  postgres:\n    version: 12\n"), "spec.postgres.version", 14, 14,
       "out of range: 12 (allowed 13..17)"},
      // Durations and sizes.
      {"BadDuration", Base("  healthCheck:\n    period: 5x\n"), "spec.healthCheck.period", 14, 13,
       "expected a duration such as 500ms, 5s or 2m, got '5x'"},
      {"DurationTooShort", Base("  healthCheck:\n    period: 50ms\n"), "spec.healthCheck.period", 14, 13,
       "out of range: 50ms (allowed 100ms..24h)"},
      {"HeartbeatTooShort", Head("  watchdog:\n    enabled: false\n    heartbeatInterval: 20ms\n"
                                 "  nodes:\n    - name: a\n      host: h\n"),
       "spec.watchdog.heartbeatInterval", 8, 24, "out of range: 20ms (allowed 50ms..10s)"},
      {"BadSize", Base("  failover:\n    maximumLagBytes: 2PB\n"), "spec.failover.maximumLagBytes", 14, 22,
       "expected a size such as 512kB, 16MB or 1GB, got '2PB'"},
      {"SizeTooLarge", Base("  proxy:\n    loadBalancing:\n      delayThreshold: 2TB\n"),
       "spec.proxy.loadBalancing.delayThreshold", 15, 23, "out of range: 2TB (allowed 0..1TB)"},
      // Enumerations, with a did-you-mean.
      {"DisableOnWrite", Base("  proxy:\n    loadBalancing:\n      disableOnWrite: transction\n"),
       "spec.proxy.loadBalancing.disableOnWrite", 15, 23,
       "unknown value 'transction' (one of: transaction, always, off); did you mean 'transaction'?"},
      {"PoolMode", Base("  proxy:\n    pool:\n      mode: transactions\n"), "spec.proxy.pool.mode", 15, 13,
       "unknown value 'transactions' (one of: session, transaction); did you mean 'transaction'?"},
      {"PoolSessionState", Base("  proxy:\n    pool:\n      sessionState: refus\n"),
       "spec.proxy.pool.sessionState", 15, 21, "unknown value 'refus' (one of: refuse, pin); did you mean 'refuse'?"},
      {"PoolSize", Base("  proxy:\n    pool:\n      size: 0\n"), "spec.proxy.pool.size", 15, 13,
       "out of range: 0 (allowed 1..100000)"},
      {"PoolMaxPreparedStatements", Base("  proxy:\n    pool:\n      maxPreparedStatements: 0\n"),
       "spec.proxy.pool.maxPreparedStatements", 15, 30, "out of range: 0 (allowed 1..100000)"},
      {"RecoveryMethod", Base("  recovery:\n    method: basebackupp\n"), "spec.recovery.method", 14, 13,
       "unknown value 'basebackupp' (one of: rewind-or-basebackup, basebackup); did you mean 'basebackup'?"},
      {"ReplicationMode", Base("  replication:\n    mode: synch\n"), "spec.replication.mode", 14, 11,
       "did you mean 'sync'?"},
      {"UnknownTag", Base("      tags: [noLoadBalance, noFailovr]\n"), "spec.nodes[1].tags", 13, 13,
       "unknown tag 'noFailovr' (noFailover, noLoadBalance); did you mean 'noFailover'?"},
      // Nodes.
      {"HostWithSpace", Base("    - name: server3\n      host: \"10.0.0.3 oops\"\n"), "spec.nodes[2].host", 14, 13,
       "'10.0.0.3 oops' is not an IP address or host name"},
      {"HostBadLabel", Base("    - name: server3\n      host: db..example\n"), "spec.nodes[2].host", 14, 13,
       "is not an IP address or host name"},
      {"DuplicateNodeName", Base("    - name: server1\n      host: 10.0.0.3\n"), "spec.nodes[2].name", 13, 13,
       "duplicate node name 'server1' (also spec.nodes[0])"},
      {"DuplicateNodeAddress",
       Base("    - name: server3\n      host: 10.0.0.2\n      proxyPort: 6000\n      apiPort: 6001\n"
            "      watchdogPort: 6002\n      heartbeatPort: 6003\n"),
       "spec.nodes[2].host", 14, 13, "duplicate address 10.0.0.2:5432 (also spec.nodes[1])"},
      {"BadNodeName", Base("    - name: Server_3\n      host: 10.0.0.3\n"), "spec.nodes[2].name", 13, 13,
       "'Server_3' is not a valid node name"},
      {"NodeWithoutName", Base("    - host: 10.0.0.3\n"), "spec.nodes[2].name", 13, 7,
       "required field is missing"},
      {"NodeWithEmptyHost", Base("    - name: server3\n      host: \"\"\n"), "spec.nodes[2].host", 14, 13,
       "must not be empty"},
      {"PrimaryNotANode", Base("  primary: server9\n"), "spec.primary", 13, 12,
       "'server9' is not among spec.nodes"},
      {"MissingNodes", Head("  watchdog:\n    enabled: false\n"), "spec.nodes", 6, 3,
       "required field is missing"},
      {"EmptyNodes", Head("  watchdog:\n    enabled: false\n  nodes: []\n"), "spec.nodes", 8, 10,
       "at least one node is required"},
      // The VIP.
      {"VipOutsideSubnets", Base("  vip:\n    address: 10.1.0.150/24\n"), "spec.vip.address", 14, 14,
       "'10.1.0.150/24' is inside no node's subnet"},
      {"VipMalformed", Base("  vip:\n    address: 10.0.0.300/24\n"), "spec.vip.address", 14, 14,
       "'10.0.0.300/24' is not an IPv4 address with prefix"},
      {"VipBadPrefix", Base("  vip:\n    address: 10.0.0.150/33\n"), "spec.vip.address", 14, 14,
       "is not an IPv4 address with prefix"},
      {"VipIsNodeAddress", Base("  vip:\n    address: 10.0.0.2/24\n"), "spec.vip.address", 14, 14,
       "must not be a node's own address (spec.nodes[1])"},
      // Timing and replication rules.
      {"DeadTimeTooShort", Head("  watchdog:\n    authKeyFile: /k\n    heartbeatInterval: 1s\n"
                                "    deadTime: 2s\n  nodes:\n    - name: a\n      host: h\n"),
       "spec.watchdog.deadTime", 9, 15, "must be more than 2 x heartbeatInterval (1000ms), got 2000ms"},
      {"HealthTimeoutTooLong", Base("  healthCheck:\n    period: 1s\n    timeout: 2m\n"),
       "spec.healthCheck.timeout", 15, 14, "must not exceed 10 x period"},
      {"SyncCountAboveStandbys", Base("  replication:\n    mode: sync\n    synchronousCount: 2\n"),
       "spec.replication.synchronousCount", 15, 23, "cannot exceed the number of standbys (1)"},
      // Secrets and paths.
      {"MissingSecretFile", Base(""), "spec.watchdog.authKeyFile", 7, 18,
       "file '/nonexistent/pgvigil-test/watchdog.key' does not exist", 1, true},
      {"WatchdogWithoutKey", Head("  watchdog:\n    enabled: true\n  nodes:\n    - name: a\n      host: h\n"),
       "spec.watchdog.authKeyFile", 7, 5, "required when the watchdog is enabled"},
      {"TlsCertWithoutKey", Base("  proxy:\n    tls:\n      certFile: /etc/pgvigil/tls.pem\n"),
       "spec.proxy.tls.keyFile", 15, 7, "certFile and keyFile go together"},
      {"TlsKeyWithoutCert", Base("  api:\n    tls:\n      keyFile: /etc/pgvigil/tls.key\n"),
       "spec.api.tls.certFile", 15, 7, "certFile and keyFile go together"},
      {"RelativeDataDirectory", Base("  postgres:\n    dataDirectory: data/pg\n"), "spec.postgres.dataDirectory",
       14, 20, "must be an absolute path, got 'data/pg'"},
      {"RelativeNodeDataDirectory", Base("      dataDirectory: pg2\n"), "spec.nodes[1].dataDirectory", 13, 22,
       "must be an absolute path, got 'pg2'"},
      {"RootDataDirectory", Base("  postgres:\n    dataDirectory: /\n"), "spec.postgres.dataDirectory", 14, 20,
       "'/' is the root directory"},
      {"RootDataDirectoryWithSlashes", Base("      dataDirectory: //\n"), "spec.nodes[1].dataDirectory", 13, 22,
       "is the root directory"},
      {"DotDotDataDirectory", Base("      dataDirectory: /srv/pg/../../etc\n"), "spec.nodes[1].dataDirectory",
       13, 22, "must not contain '.' or '..' components"},
      {"DotDataDirectory", Base("  postgres:\n    dataDirectory: /srv/./pg\n"), "spec.postgres.dataDirectory",
       14, 20, "must not contain '.' or '..' components"},
      {"SystemDataDirectory", Base("      dataDirectory: /var/lib/\n"), "spec.nodes[1].dataDirectory", 13, 22,
       "'/var/lib/' is a system directory"},
      {"ControlCharacterInDataDirectory", Base("      dataDirectory: \"/srv/pg\\nx\"\n"),
       "spec.nodes[1].dataDirectory", 13, 22, "'/srv/pg\\nx' contains a control character"},
      // libpq refuses a group/world-readable ~/.pgpass; pgvigil refuses such secrets.
      {"WorldReadableSecret", Head("  watchdog:\n    authKeyFile: /etc/passwd\n  nodes:\n    - name: a\n"
                                  "      host: h\n"),
       "spec.watchdog.authKeyFile", 7, 18, "/etc/passwd: secret file has mode 0644", 1, true},
      {"EmptySuperuserName", Base("  postgres:\n    superuser:\n      name: \"\"\n"),
       "spec.postgres.superuser.name", 15, 13, "must not be empty"},
      // postgres.parameters (KUBERNETES.md §3; the custom resource gets the same checks).
      {"ParameterManagedByPgvigil", Base("  postgres:\n    parameters:\n      port: \"5433\"\n"),
       "spec.postgres.parameters.port", 15, 7, "pgvigil sets port itself"},
      {"ParameterManagedAnyCase", Base("  postgres:\n    parameters:\n      Synchronous_Standby_Names: \"*\"\n"),
       "spec.postgres.parameters.Synchronous_Standby_Names", 15, 7, "pgvigil sets synchronous_standby_names itself"},
      {"ParameterRecoveryTarget", Base("  postgres:\n    parameters:\n      recovery_target_time: x\n"),
       "spec.postgres.parameters.recovery_target_time", 15, 7, "itself"},
      {"ParameterWalLevelMinimal", Base("  postgres:\n    parameters:\n      wal_level: minimal\n"),
       "spec.postgres.parameters.wal_level", 15, 7, "must be replica or logical"},
      {"ParameterNameStartsWithDigit", Base("  postgres:\n    parameters:\n      1work_mem: 4MB\n"),
       "spec.postgres.parameters.1work_mem", 15, 7, "not a PostgreSQL setting name"},
      {"ParameterNameTwoDots", Base("  postgres:\n    parameters:\n      a.b.c: x\n"),
       "spec.postgres.parameters.a.b.c", 15, 7, "not a PostgreSQL setting name"},
      {"ParameterValueTwoLines", Base("  postgres:\n    parameters:\n      work_mem: \"4MB\\nport = 1\"\n"),
       "spec.postgres.parameters.work_mem", 15, 7, "must be one line"},
      {"ParametersNotAMapping", Base("  postgres:\n    parameters: [a]\n"), "spec.postgres.parameters", 14, 17,
       "expected a mapping of names to values"},
      // Ports.
      {"PortCollisionOnNode", Base("      proxyPort: 5432\n"), "spec.nodes[1]", 11, 7,
       "port 5432 is used by both postgres.port and proxy.port on 10.0.0.2"},
      {"NodesSharingHostWithoutPorts",
       Head("  watchdog:\n    authKeyFile: /k\n  nodes:\n    - name: a\n      host: 127.0.0.1\n"
            "      port: 5433\n    - name: b\n      host: 127.0.0.1\n      port: 5434\n"),
       "spec.nodes[1]", 12, 7,
       "the proxy port 9999 on 127.0.0.1 is also spec.nodes[0]'s: nodes sharing a host need their own proxyPort",
       4},
      {"NodesSharingHostAndWatchdogPort",
       Head("  watchdog:\n    authKeyFile: /k\n  nodes:\n"
            "    - {name: a, host: 127.0.0.1, port: 5433, proxyPort: 6001, apiPort: 7001, heartbeatPort: 8001}\n"
            "    - {name: b, host: 127.0.0.1, port: 5434, proxyPort: 6002, apiPort: 7002, heartbeatPort: 8002}\n"),
       "spec.nodes[1]", 10, 7, "the watchdog port 9000 on 127.0.0.1 is also spec.nodes[0]'s"},
      // The document.
      {"MissingApiVersion", "kind: PostgresCluster\nmetadata:\n  name: demo\nspec:\n  nodes:\n    - {name: a, host: h}\n"
                            "  watchdog: {enabled: false}\n",
       "apiVersion", 1, 1, "required field is missing"},
      {"WrongApiVersion",
       With(Head("  watchdog: {enabled: false}\n  nodes: [{name: a, host: h}]\n"), "v1alpha1", "v1"),
       "apiVersion", 1, 13, "unsupported apiVersion (expected pgvigil.io/v1alpha1)"},
      {"MissingKind", "apiVersion: pgvigil.io/v1alpha1\nmetadata:\n  name: demo\nspec:\n"
                      "  watchdog: {enabled: false}\n  nodes: [{name: a, host: h}]\n",
       "kind", 1, 1, "required field is missing (PostgresCluster)"},
      {"MissingMetadata", "apiVersion: pgvigil.io/v1alpha1\nkind: PostgresCluster\nspec:\n"
                          "  watchdog: {enabled: false}\n  nodes: [{name: a, host: h}]\n",
       "metadata.name", 1, 1, "required field is missing"},
      {"BadMetadataName",
       With(Head("  watchdog: {enabled: false}\n  nodes: [{name: a, host: h}]\n"), "demo", "Demo_1"),
       "metadata.name", 4, 9, "'Demo_1' is not a valid name"},
      {"MissingSpec", "apiVersion: pgvigil.io/v1alpha1\nkind: PostgresCluster\nmetadata:\n  name: demo\n", "spec", 1, 1,
       "required field is missing"},
      {"SpecIsScalar", Head("") + "  3\n", "spec", 6, 3, "expected a mapping of fields"},
      {"DuplicateKey", Base("  proxy:\n    port: 6432\n    port: 7432\n"), "spec.proxy.port", 15, 5,
       "duplicate field (first given at line 14)"},
      {"YamlSyntaxError", Base("  proxy:\n    port: 6432\n   listen: 0.0.0.0\n"), "(document)", 15, 4,
       "YAML syntax error"},
      {"UnclosedFlowList", Base("  proxy:\n    loadBalancing:\n      writeFunctions: [nextval, setval\n"),
       "(document)", 16, 1, "YAML syntax error"},
      {"EmptyFile", "", "(document)", 0, 0, "the file is empty"},
      {"OnlyComments", "# nothing here\n\n", "(document)", 0, 0, "the file is empty"},
  };
}

class InvalidSpecTest : public testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidSpecTest, ReportsPathLineColumnAndReason) {
  const InvalidCase& c = GetParam();
  SpecParseOptions options;
  options.checkSecretFiles = c.checkSecrets;
  SpecLoad load = ParseSpec(c.text, "bad.yaml", options);
  SCOPED_TRACE("document:\n" + c.text + "errors:\n" + load.ErrorText());
  ASSERT_FALSE(load.ok());
  EXPECT_FALSE(load.spec.has_value());
  EXPECT_EQ(load.errors.size(), c.count);
  const SpecError* found = nullptr;
  for (const auto& e : load.errors)
    if (e.path == c.path && e.reason.find(c.reason) != std::string::npos) found = &e;
  ASSERT_NE(found, nullptr) << "no error at " << c.path << " containing \"" << c.reason << "\"";
  EXPECT_EQ(found->file, "bad.yaml");
  EXPECT_EQ(found->line, c.line);
  EXPECT_EQ(found->column, c.column);
}

INSTANTIATE_TEST_SUITE_P(Table, InvalidSpecTest, testing::ValuesIn(Cases()),
                         [](const testing::TestParamInfo<InvalidCase>& info) { return info.param.name; });

// The cases are only meaningful if what they start from is valid.
TEST(InvalidSpecTableTest, BasesAreValid) {
  SpecParseOptions no_secrets;
  no_secrets.checkSecretFiles = false;
  for (const std::string& text :
       {Base(""), Head("  watchdog: {enabled: false}\n  nodes: [{name: a, host: h}]\n")}) {
    SpecLoad load = ParseSpec(text, "base.yaml", no_secrets);
    EXPECT_TRUE(load.ok()) << text << load.ErrorText();
  }
  EXPECT_GE(Cases().size(), 35u);
}

// A document with several problems reports all of them at once, sorted by
// position, each printed as FILE:LINE:COLUMN: path: reason.
TEST(InvalidSpecTest, ReportsEveryProblemSortedByPosition) {
  const std::string text =
      "apiVersion: pgvigil.io/v1alpha1\n"           // 1
      "kind: PostgresCluster\n"                     // 2
      "metadata:\n"                                 // 3
      "  name: demo\n"                              // 4
      "spec:\n"                                     // 5
      "  replication:\n"                            // 6
      "    mode: sync\n"                            // 7
      "    synchronousCount: 3\n"                   // 8
      "  nodes:\n"                                  // 9
      "    - name: server1\n"                       // 10
      "      host: 10.0.0.1\n"                      // 11
      "      weight: heavy\n"                       // 12
      "    - name: server1\n"                       // 13
      "      host: 10.0.0.2\n"                      // 14
      "  primary: server7\n"                        // 15
      "  watchdog:\n"                               // 16
      "    authKeyFile: /k\n"                       // 17
      "    heartbeatInterval: 1s\n"                 // 18
      "    deadTime: 1s\n"                          // 19
      "  proxy:\n"                                  // 20
      "    porrt: 6432\n";                          // 21
  SpecParseOptions options;
  options.checkSecretFiles = false;
  SpecLoad load = ParseSpec(text, "/etc/pgvigil/cluster.yaml", options);
  ASSERT_FALSE(load.ok());
  EXPECT_EQ(load.ErrorText(),
            "/etc/pgvigil/cluster.yaml:8:23: spec.replication.synchronousCount: cannot exceed the number of "
            "standbys (1)\n"
            "/etc/pgvigil/cluster.yaml:12:15: spec.nodes[0].weight: expected an integer, got 'heavy'\n"
            "/etc/pgvigil/cluster.yaml:13:13: spec.nodes[1].name: duplicate node name 'server1' (also "
            "spec.nodes[0])\n"
            "/etc/pgvigil/cluster.yaml:15:12: spec.primary: 'server7' is not among spec.nodes\n"
            "/etc/pgvigil/cluster.yaml:19:15: spec.watchdog.deadTime: must be more than 2 x heartbeatInterval "
            "(1000ms), got 1000ms\n"
            "/etc/pgvigil/cluster.yaml:21:5: spec.proxy.porrt: unknown field (did you mean 'port'?)");
  ASSERT_EQ(load.errors.size(), 6u);
  EXPECT_EQ(load.errors[0].ToString(), load.ErrorText().substr(0, load.ErrorText().find('\n')));
}

// Heartbeats index members in one byte: more than 255 nodes only without the watchdog.
std::string ManyNodes(int n, bool watchdog) {
  std::string text = Head(watchdog ? "  watchdog:\n    authKeyFile: /k\n" : "  watchdog:\n    enabled: false\n");
  text += "  nodes:\n";
  for (int i = 0; i < n; ++i)
    text += "    - {name: n" + std::to_string(i) + ", host: 10.1." + std::to_string(i / 200) + "." +
            std::to_string(i % 200 + 1) + "}\n";
  return text;
}

TEST(InvalidSpecTest, AtMost255NodesWithTheWatchdog) {
  SpecParseOptions options;
  options.checkSecretFiles = false;
  EXPECT_TRUE(ParseSpec(ManyNodes(255, true), "ok.yaml", options).ok());
  EXPECT_TRUE(ParseSpec(ManyNodes(256, false), "ok.yaml", options).ok());
  SpecLoad load = ParseSpec(ManyNodes(256, true), "bad.yaml", options);
  ASSERT_FALSE(load.ok());
  ASSERT_EQ(load.errors.size(), 1u) << load.ErrorText();
  EXPECT_EQ(load.errors[0].ToString(),
            "bad.yaml:9:5: spec.nodes: at most 255 nodes when the watchdog is enabled (heartbeats index "
            "members in one byte), got 256");
}

TEST(InvalidSpecTest, MissingFileIsAnErrorNotACrash) {
  SpecLoad load = LoadSpecFile("/nonexistent/pgvigil-test/cluster.yaml");
  ASSERT_FALSE(load.ok());
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_EQ(load.errors[0].file, "/nonexistent/pgvigil-test/cluster.yaml");
  EXPECT_EQ(load.errors[0].path, "(file)");
  EXPECT_NE(load.errors[0].reason.find("cannot read"), std::string::npos);
}

}  // namespace
}  // namespace pgvigil
