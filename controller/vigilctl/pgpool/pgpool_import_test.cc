// The import of the seed's settings (the Pgpool-II 4.0 manual's three-host example)
// and of a hand-written 4.2-style file with every mapped setting changed: the whole
// spec is compared with the expected one, so every field is asserted, and the
// report names each unnecessary or unsupported setting with its line.
#include "controller/vigilctl/pgpool/pgpool_import.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "common/spec_parser.h"

namespace pgvigil::pgpool {
namespace {

std::string TestData(const std::string& name) {
  return std::string(PGVIGIL_PGPOOL_TESTDATA) + "/" + name;
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The 1-based line of the first line of `file` starting with `prefix`.
int LineOf(const std::string& file, const std::string& prefix) {
  std::istringstream in(Read(file));
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (line.rfind(prefix, 0) == 0) return n;
  }
  return -1;
}

const Finding* Find(const ImportResult& r, FindingKind kind, const std::string& key) {
  for (const auto& f : r.findings)
    if (f.kind == kind && f.key == key) return &f;
  return nullptr;
}

ImportResult Import(const std::string& conf_file, ImportOptions opt,
                    AuthFiles* auth_out = nullptr) {
  std::string path = TestData(conf_file);
  PgpoolConf conf = ParsePgpoolConf(Read(path), path);
  AuthFiles auth = AuthPaths(conf, path, opt);
  if (!auth.hbaPath.empty()) auth.hbaText = Read(auth.hbaPath);
  if (!auth.passwordPath.empty()) auth.passwordText = Read(auth.passwordPath);
  if (auth_out) *auth_out = auth;
  return ImportPgpool(conf, path, auth, opt);
}

void ExpectValid(const ClusterSpec& spec) {
  SpecParseOptions o;
  o.checkSecretFiles = false;
  SpecLoad load = ParseSpec(SpecToYaml(spec), "imported.yaml", o);
  EXPECT_TRUE(load.ok()) << load.ErrorText();
  if (load.ok()) {
    EXPECT_EQ(*load.spec, spec);
  }
}

TEST(PgpoolImportTest, SeedExample) {
  ImportOptions opt;
  opt.name = "seed";
  opt.hbaFile = TestData("seed_pool_hba.conf");
  opt.passwordFile = TestData("seed_pool_passwd");
  ImportResult r = Import("seed_server1.conf", opt);
  ASSERT_TRUE(r.ok()) << FormatReport(r, true);

  ClusterSpec want;
  want.name = "seed";
  want.postgres.dataDirectory = "/var/lib/pgsql/11/data";
  want.postgres.binDirectory = "/usr/pgsql-15/bin";
  want.postgres.superuser = {"postgres", "/etc/pgvigil/secrets/postgres.password"};
  want.postgres.replicationUser = {"repl", "/etc/pgvigil/secrets/repl.password"};
  for (int i = 1; i <= 3; ++i) {
    NodeSpec n;
    n.name = "server" + std::to_string(i);
    n.host = n.name;
    want.nodes.push_back(n);
  }
  want.vip.address = "192.168.137.150/24";
  want.vip.interface = "enp0s8";
  want.vip.upCommand = "/sbin/ip addr add $_IP_$/24 dev enp0s8 label enp0s8:0";
  want.vip.downCommand = "/sbin/ip addr del $_IP_$/24 dev enp0s8";
  want.vip.arpingCommand = "/usr/sbin/arping -U $_IP_$ -w 1 -I enp0s8";
  want.healthCheck.period = std::chrono::seconds(5);
  want.healthCheck.timeout = std::chrono::seconds(30);
  want.healthCheck.maxRetries = 3;
  want.proxy.port = 9999;
  want.proxy.auth.hbaFile = TestData("seed_pool_hba.conf");
  want.proxy.auth.passwordFile = TestData("seed_pool_passwd");
  want.proxy.auth.keyFile = "/etc/pgvigil/secrets/pgpoolkey";  // AES entries need the pool key
  want.watchdog.enabled = true;
  want.watchdog.port = 9000;
  want.watchdog.heartbeatPort = 9694;
  want.watchdog.authKeyFile = "/etc/pgvigil/secrets/watchdog.key";
  want.api.port = 9898;
  want.api.tokenFile = "/etc/pgvigil/secrets/api.token";
  EXPECT_EQ(SpecToYaml(r.spec), SpecToYaml(want));
  ExpectValid(r.spec);

  // The scripts pgvigil makes unnecessary, each at its line.
  std::string file = TestData("seed_server1.conf");
  for (const char* key : {"failover_command", "follow_master_command", "recovery_1st_stage_command",
                          "health_check_user", "sr_check_user", "sr_check_period"}) {
    const Finding* f = Find(r, FindingKind::kUnnecessary, key);
    ASSERT_NE(f, nullptr) << key << "\n" << FormatReport(r, false);
    EXPECT_EQ(f->line, LineOf(file, std::string(key) + " ")) << key;
    EXPECT_EQ(f->file, file);
  }
  // The example's settings are all honoured: nothing it cannot do, nothing unknown.
  EXPECT_EQ(r.Count(FindingKind::kUnsupported), 0u) << FormatReport(r, false);
  EXPECT_EQ(r.Count(FindingKind::kWarning), 0u) << FormatReport(r, false);
  // Mapped settings keep their lines too.
  const Finding* vip = Find(r, FindingKind::kMapped, "delegate_IP");
  ASSERT_NE(vip, nullptr);
  EXPECT_EQ(vip->line, LineOf(file, "delegate_IP"));
  // Syslog LOCAL1 is a command-line matter, said in a note.
  ASSERT_NE(Find(r, FindingKind::kNote, "syslog_facility"), nullptr);
  std::string report = FormatReport(r, false);
  EXPECT_NE(report.find(file + ":" + std::to_string(LineOf(file, "failover_command")) +
                        ": failover_command"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("/etc/pgvigil/secrets/watchdog.key"), std::string::npos);
}

TEST(PgpoolImportTest, HandWrittenEveryMappedKeyChanged) {
  ImportOptions opt;
  opt.name = "hand";
  opt.secretsDir = "/srv/secrets";
  opt.replicationUser = "replicator";
  std::string dir = PGVIGIL_PGPOOL_TESTDATA;
  AuthFiles auth;
  ImportResult r = Import("hand_all_keys.conf", opt, &auth);
  // The hba and password files are the ones next to pgpool.conf (not present: warned).
  EXPECT_EQ(auth.hbaPath, dir + "/pool_hba.conf");
  EXPECT_EQ(auth.passwordPath, dir + "/my_passwd");
  ASSERT_TRUE(r.ok()) << FormatReport(r, true);

  ClusterSpec want;
  want.name = "hand";
  want.postgres.port = 5444;
  want.postgres.binDirectory = "/usr/lib/postgresql/15/bin";
  want.postgres.superuser = {"pgadmin", "/srv/secrets/pgadmin.password"};
  want.postgres.replicationUser = {"replicator", "/srv/secrets/replicator.password"};
  NodeSpec a, b, c;
  a.name = "db-a", a.host = "db-a.example.com", a.dataDirectory = "/srv/pg/a", a.weight = 333,
  a.noFailover = true;
  b.name = "db-b", b.host = "db-b.example.com", b.port = 5445, b.dataDirectory = "/srv/pg/b",
  b.weight = 1000;
  c.name = "gamma", c.host = "10.1.2.3", c.dataDirectory = "/srv/pg/c", c.weight = 0;
  c.watchdogPort = 9101, c.heartbeatPort = 9701, c.proxyPort = 5434;
  want.nodes = {a, b, c};
  want.vip.address = "10.1.2.100/16";
  want.vip.interface = "ens3";
  want.vip.upCommand = "/usr/sbin/ip addr add $_IP_$/16 dev ens3 label ens3:1";
  want.vip.downCommand = "/usr/sbin/ip addr del $_IP_$/16 dev ens3";
  want.vip.arpingCommand = "/opt/bin/arping -U $_IP_$ -w 1 -I ens3";
  want.healthCheck.period = std::chrono::seconds(7);
  want.healthCheck.timeout = std::chrono::minutes(1);
  want.healthCheck.maxRetries = 4;
  want.healthCheck.retryDelay = std::chrono::seconds(2);
  want.healthCheck.database = "hcdb";
  want.failover.requireConsensus = false;
  want.proxy.port = 5433;
  want.proxy.listen = "127.0.0.1";
  want.proxy.loadBalancing.enabled = false;
  want.proxy.loadBalancing.disableOnWrite = DisableOnWrite::kAlways;
  want.proxy.loadBalancing.readOnlyFunctions = {"f_read1", "f_read2"};
  want.proxy.loadBalancing.writeFunctions = {"nextval", "setval", "my_writer"};
  want.proxy.loadBalancing.delayThreshold = 1 << 20;
  want.proxy.auth.hbaFile = dir + "/pool_hba.conf";
  want.proxy.auth.passwordFile = dir + "/my_passwd";
  want.proxy.tls.certFile = dir + "/certs/server.crt";
  want.proxy.tls.keyFile = "/etc/ssl/private/pool.key";
  want.watchdog.enabled = true;
  want.watchdog.port = 9100;
  want.watchdog.heartbeatPort = 9700;
  want.watchdog.heartbeatInterval = std::chrono::seconds(1);
  want.watchdog.deadTime = std::chrono::seconds(5);
  want.watchdog.authKeyFile = "/srv/secrets/watchdog.key";
  want.api.port = 9797;
  want.api.tokenFile = "/srv/secrets/api.token";
  EXPECT_EQ(SpecToYaml(r.spec), SpecToYaml(want));
  ExpectValid(r.spec);

  std::string file = TestData("hand_all_keys.conf");
  for (const char* key :
       {"failover_command", "follow_primary_command", "recovery_1st_stage_command",
        "failback_command", "wd_escalation_command", "wd_de_escalation_command", "sr_check_user"}) {
    const Finding* f = Find(r, FindingKind::kUnnecessary, key);
    ASSERT_NE(f, nullptr) << key << "\n" << FormatReport(r, false);
    EXPECT_EQ(f->line, LineOf(file, std::string(key) + " ")) << key;
  }
  for (const char* key : {"heartbeat_device0", "trusted_servers", "memory_cache_enabled"}) {
    const Finding* f = Find(r, FindingKind::kUnsupported, key);
    ASSERT_NE(f, nullptr) << key << "\n" << FormatReport(r, false);
    EXPECT_EQ(f->line, LineOf(file, std::string(key) + " ")) << key;
    EXPECT_FALSE(f->text.empty());
  }
  // The health check role is the superuser: nothing to drop.
  ASSERT_NE(Find(r, FindingKind::kMapped, "health_check_user"), nullptr);
  // The duplicate (last wins: 4 retries), the unknown key, the doubled quote.
  bool duplicate = false, unknown = false, doubled = false;
  for (const auto& f : r.findings) {
    if (f.kind != FindingKind::kWarning) continue;
    duplicate |= f.line == LineOf(file, "health_check_max_retries = 4") &&
                 f.text.find("set again") != std::string::npos;
    unknown |= f.key == "helth_check_period" && f.line == LineOf(file, "helth_check_period");
    doubled |= f.line == LineOf(file, "failback_command") && f.text.find("''") != std::string::npos;
  }
  EXPECT_TRUE(duplicate) << FormatReport(r, false);
  EXPECT_TRUE(unknown) << FormatReport(r, false);
  EXPECT_TRUE(doubled) << FormatReport(r, false);
  // sudo is dropped from the VIP commands, and the report says so.
  ASSERT_NE(Find(r, FindingKind::kNote, "if_up_cmd"), nullptr);
  // Passwords never appear in the report.
  std::string report = FormatReport(r, true);
  EXPECT_EQ(report.find("plain-secret"), std::string::npos);
  EXPECT_EQ(report.find("not-the-default"), std::string::npos);
}

struct FatalCase {
  const char* name;
  const char* conf;
  const char* reason;  // in the error's text
};

class PgpoolImportFatalTest : public ::testing::TestWithParam<FatalCase> {};

TEST_P(PgpoolImportFatalTest, RefusedWithTheReason) {
  PgpoolConf conf = ParsePgpoolConf(GetParam().conf, "/etc/pgpool-II/pgpool.conf");
  ImportResult r = ImportPgpool(conf, "/etc/pgpool-II/pgpool.conf", AuthFiles{}, ImportOptions{});
  ASSERT_FALSE(r.ok());
  bool found = false;
  for (const auto& f : r.findings)
    found |= f.kind == FindingKind::kError && f.text.find(GetParam().reason) != std::string::npos;
  EXPECT_TRUE(found) << FormatReport(r, false);
}

INSTANTIATE_TEST_SUITE_P(
    Pgpool, PgpoolImportFatalTest,
    ::testing::Values(
        FatalCase{"no_backend", "port = 9999\n", "no backend"},
        FatalCase{"native_replication",
                  "backend_clustering_mode = 'native_replication'\nbackend_hostname0 = 'a'",
                  "streaming replication only"},
        FatalCase{"old_replication_mode", "replication_mode = on\nbackend_hostname0 = 'a'",
                  "native replication"},
        FatalCase{
            "slony",
            "master_slave_mode = on\nmaster_slave_sub_mode = 'slony'\nbackend_hostname0 = 'a'",
            "streaming replication only"},
        FatalCase{"socket_backend", "backend_hostname0 = '/tmp'", "Unix socket"},
        FatalCase{"bad_bool", "backend_hostname0 = 'a'\nload_balance_mode = maybe",
                  "not a boolean"},
        FatalCase{"bad_port", "backend_hostname0 = 'a'\nbackend_port0 = 70000", "out of range"},
        FatalCase{"bad_unit", "backend_hostname0 = 'a'\nhealth_check_period = 5MB", "unit"},
        FatalCase{"bad_flag", "backend_hostname0 = 'a'\nbackend_flag0 = 'MAYBE'",
                  "unknown backend flag"},
        FatalCase{"syntax", "backend_hostname0 = 'a'\nport = *", "syntax error"}),
    [](const ::testing::TestParamInfo<FatalCase>& i) { return std::string(i.param.name); });

TEST(PgpoolImportTest, HbaMethodsPgvigilLacksAreErrorsWithLines) {
  PgpoolConf conf =
      ParsePgpoolConf("backend_hostname0 = 'a'\nenable_pool_hba = on\n", "/p/pgpool.conf");
  AuthFiles auth = AuthPaths(conf, "/p/pgpool.conf", ImportOptions{});
  EXPECT_EQ(auth.hbaPath, "/p/pool_hba.conf");
  auth.hbaText =
      "local all all trust\nhost all all 0.0.0.0/0 pam\nhost all all ::1/128 scram-sha-256\n"
      "host all all 10.0.0.0 255.0.0.0 password\n"
      "host all all all pam pamservice=pgpool\nhost all all all md5 map=x # method md5\n";
  ImportResult r = ImportPgpool(conf, "/p/pgpool.conf", auth, ImportOptions{});
  std::vector<int> lines;
  for (const auto& f : r.findings)
    if (f.kind == FindingKind::kError && f.file == "/p/pool_hba.conf") lines.push_back(f.line);
  EXPECT_EQ(lines, (std::vector<int>{2, 4, 5})) << FormatReport(r, false);
}

TEST(PgpoolImportTest, WithoutPoolHbaOnlyLocalClientsIsSaid) {
  PgpoolConf conf =
      ParsePgpoolConf("backend_hostname0 = 'a'\nenable_pool_hba = off\n", "/p/pgpool.conf");
  ImportResult r =
      ImportPgpool(conf, "/p/pgpool.conf", AuthPaths(conf, "/p/pgpool.conf", {}), ImportOptions{});
  ASSERT_TRUE(r.ok());
  const Finding* f = Find(r, FindingKind::kUnsupported, "enable_pool_hba");
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->text.find("--hba"), std::string::npos);
  EXPECT_TRUE(r.spec.proxy.auth.hbaFile.empty());
}

TEST(PgpoolImportTest, WatchdogHostThatIsNoBackendCannotBeHonoured) {
  PgpoolConf conf = ParsePgpoolConf(
      "backend_hostname0 = 'db1'\nbackend_hostname1 = 'db2'\nuse_watchdog = on\n"
      "hostname0 = 'db1'\nhostname1 = 'pool-only'\ndelegate_IP = '10.0.0.9'\n",
      "/p/pgpool.conf");
  ImportResult r = ImportPgpool(conf, "/p/pgpool.conf", AuthFiles{}, ImportOptions{});
  ASSERT_TRUE(r.ok()) << FormatReport(r, false);
  const Finding* f = Find(r, FindingKind::kUnsupported, "hostname1");
  ASSERT_NE(f, nullptr) << FormatReport(r, false);
  EXPECT_EQ(f->line, 5);
  // Pgpool-II's default commands: /24 on eth0, sudo dropped.
  EXPECT_EQ(r.spec.vip.address, "10.0.0.9/24");
  EXPECT_EQ(r.spec.vip.interface, "eth0");
  EXPECT_EQ(r.spec.vip.upCommand, "/sbin/ip addr add $_IP_$/24 dev eth0 label eth0:0");
}

TEST(PgpoolImportTest, NodeNamesFromOptionsThenHostsThenApplicationNames) {
  PgpoolConf conf = ParsePgpoolConf(
      "backend_hostname0 = '10.77.0.11'\nbackend_application_name0 = 'Server_1'\n"
      "backend_hostname1 = 'PG2.example.com'\nbackend_hostname2 = '10.77.0.13'\n",
      "/p/pgpool.conf");
  ImportResult r = ImportPgpool(conf, "/p/pgpool.conf", AuthFiles{}, ImportOptions{});
  ASSERT_EQ(r.spec.nodes.size(), 3u);
  EXPECT_EQ(r.spec.nodes[0].name, "server-1");
  EXPECT_EQ(r.spec.nodes[1].name, "pg2");
  EXPECT_EQ(r.spec.nodes[2].name, "node2");
  ImportOptions named;
  named.nodeNames = {"a", "b", "c"};
  ImportResult n = ImportPgpool(conf, "/p/pgpool.conf", AuthFiles{}, named);
  EXPECT_EQ(n.spec.nodes[2].name, "c");
}

// Arbitrary input never crashes the reader or the mapper: lines built from real keys
// (with odd indexes), odd values and raw bytes; a fixed seed, so a failure repeats.
TEST(PgpoolImportTest, ArbitraryInputNeverCrashes) {
  const std::vector<std::string> keys = {"backend_hostname",
                                         "backend_port",
                                         "backend_weight",
                                         "backend_flag",
                                         "backend_data_directory",
                                         "hostname",
                                         "wd_port",
                                         "pgpool_port",
                                         "heartbeat_hostname",
                                         "heartbeat_port",
                                         "heartbeat_device",
                                         "other_pgpool_hostname",
                                         "other_wd_port",
                                         "heartbeat_destination",
                                         "heartbeat_destination_port",
                                         "health_check_period",
                                         "health_check_timeout",
                                         "use_watchdog",
                                         "delegate_IP",
                                         "if_up_cmd",
                                         "arping_cmd",
                                         "wd_hostname",
                                         "wd_port",
                                         "port",
                                         "pcp_port",
                                         "delay_threshold",
                                         "enable_pool_hba",
                                         "include",
                                         "x"};
  const std::vector<std::string> values = {"'a'",
                                           "0",
                                           "1",
                                           "01",
                                           "-1",
                                           "99999",
                                           "on",
                                           "off",
                                           "''",
                                           "'10.0.0.1'",
                                           "'$_IP_$/40 dev'",
                                           "'/tmp'",
                                           "1.5",
                                           "5min",
                                           "'a''b'",
                                           "'\\'",
                                           "=",
                                           "'",
                                           "'x|y'",
                                           "'DISALLOW_TO_FAILOVER'",
                                           "'netmask 255.0.255.0'"};
  std::mt19937 rng(20261205);
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  for (int round = 0; round < 400; ++round) {
    std::string text;
    int lines = 1 + static_cast<int>(rng() % 25);
    for (int i = 0; i < lines; ++i) {
      switch (rng() % 4) {
        case 0: {
          std::string raw;
          for (int b = static_cast<int>(rng() % 20); b > 0; --b)
            raw += static_cast<char>(rng() % 256);
          text += raw + "\n";
          break;
        }
        default: {
          std::string idx =
              (rng() % 3 == 0) ? "" : (rng() % 5 == 0 ? "0" : "") + std::to_string(rng() % 4);
          text += pick(keys) + idx + (rng() % 2 ? " = " : " ") + pick(values) + "\n";
        }
      }
    }
    FileLoader load = [&](const std::string&) -> Result<std::string> { return text; };
    PgpoolConf conf = ParsePgpoolConf(text, "/p/pgpool.conf", load);
    AuthFiles auth = AuthPaths(conf, "/p/pgpool.conf", ImportOptions{});
    auth.hbaText = text;
    auth.passwordText = text;
    ImportResult r = ImportPgpool(conf, "/p/pgpool.conf", auth, ImportOptions{});
    std::string report = FormatReport(r, true);
    EXPECT_FALSE(report.empty());
    if (r.ok()) {
      EXPECT_FALSE(r.spec.nodes.empty()) << text;
    }
  }
}

}  // namespace
}  // namespace pgvigil::pgpool

namespace pgvigil::pgpool {
namespace {

TEST(PgpoolImportAuthTimeoutTest, AuthenticationTimeoutMapsToTheProxy) {
  PgpoolConf conf = ParsePgpoolConf("backend_hostname0 = 'a'\nauthentication_timeout = 30\n", "/p/pgpool.conf");
  ImportResult r = ImportPgpool(conf, "/p/pgpool.conf", AuthPaths(conf, "/p/pgpool.conf", {}), ImportOptions{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.spec.proxy.authenticationTimeout, std::chrono::seconds(30));
  PgpoolConf off = ParsePgpoolConf("backend_hostname0 = 'a'\nauthentication_timeout = 0\n", "/p/pgpool.conf");
  ImportResult r0 = ImportPgpool(off, "/p/pgpool.conf", AuthPaths(off, "/p/pgpool.conf", {}), ImportOptions{});
  ASSERT_TRUE(r0.ok());
  EXPECT_EQ(r0.spec.proxy.authenticationTimeout, std::chrono::seconds(60));
  bool reported = false;
  for (const auto& f : r0.findings)
    reported = reported || (f.kind == FindingKind::kUnsupported && f.text.find("authentication") != std::string::npos);
  EXPECT_TRUE(reported);
}

}  // namespace
}  // namespace pgvigil::pgpool
