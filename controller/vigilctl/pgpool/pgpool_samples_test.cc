// The sample configuration Debian's pgpool2 package ships, fetched by
// hack/pgpool-samples.sh (apt-get download + dpkg-deb -x; hack/install-deps.sh runs
// it) into PGVIGIL_PGPOOL_SAMPLES (environment) or the build-time default. Skipped,
// saying so, when the files are absent (no package archive reachable).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "common/spec_parser.h"
#include "controller/vigilctl/pgpool/pgpool_import.h"

namespace pgvigil::pgpool {
namespace {

std::string SamplesDir() {
  const char* env = std::getenv("PGVIGIL_PGPOOL_SAMPLES");
  return env && *env ? env : PGVIGIL_PGPOOL_SAMPLES;
}

bool Read(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

#define SAMPLE_OR_SKIP(var, name)               \
  std::string var;                              \
  if (!Read(SamplesDir() + "/" + name, &var))   \
    GTEST_SKIP() << SamplesDir() << "/" << name \
                 << " is absent: run hack/pgpool-samples.sh (it needs Debian's package archive)";

// The sample with every "#key = value" line made a setting: each parameter at the
// value the sample documents (mostly Pgpool-II's defaults).
std::string Uncommented(const std::string& text) {
  std::regex commented(R"(^#([A-Za-z_][A-Za-z_0-9]*\s*=.*)$)");
  std::istringstream in(text);
  std::string out;
  for (std::string line; std::getline(in, line);)
    out += std::regex_replace(line, commented, "$1") + "\n";
  return out;
}

TEST(PgpoolDebianSamplesTest, ShippedConfigParsesAndNamesNoBackend) {
  SAMPLE_OR_SKIP(text, "pgpool.conf");
  const std::string path = "/etc/pgpool2/pgpool.conf";
  PgpoolConf conf = ParsePgpoolConf(text, path);
  ASSERT_TRUE(conf.ok()) << conf.messages[0].Where() << ": " << conf.messages[0].text;
  EXPECT_GE(conf.settings.size(), 1u);
  ImportResult r = ImportPgpool(conf, path, AuthFiles{}, ImportOptions{});
  // As shipped it names no backend: nothing to manage, said plainly.
  ASSERT_FALSE(r.ok());
  bool no_backend = false;
  for (const auto& f : r.findings) {
    no_backend |= f.kind == FindingKind::kError && f.text.find("no backend") != std::string::npos;
    EXPECT_EQ(f.text.find("unknown Pgpool-II parameter"), std::string::npos) << f.key;
  }
  EXPECT_TRUE(no_backend) << FormatReport(r, false);
}

TEST(PgpoolDebianSamplesTest, EverySampleSettingIsKnownAndTheResultValidates) {
  SAMPLE_OR_SKIP(text, "pgpool.conf");
  const std::string path = "/etc/pgpool2/pgpool.conf";
  std::string all = Uncommented(text);
  PgpoolConf conf = ParsePgpoolConf(all, path);
  ASSERT_TRUE(conf.ok()) << conf.messages[0].Where() << ": " << conf.messages[0].text;
  ASSERT_GT(conf.settings.size(), 150u) << "the sample should hold Pgpool-II's ~200 parameters";
  ImportResult clash = ImportPgpool(conf, path, AuthFiles{}, ImportOptions{});
  // The sample puts the pool on 5433 and the second backend on 5433 too: fine for a pool
  // on another machine, not for pgvigil's proxy beside each server. Said at port's line.
  ASSERT_FALSE(clash.ok());
  int port_line = 0;
  for (const auto& s : conf.settings)
    if (s.key == "port") port_line = s.line;
  bool said = false;
  for (const auto& f : clash.findings)
    said |= f.kind == FindingKind::kError && f.key == "port" && f.line == port_line &&
            f.text.find("backend_port1") != std::string::npos;
  EXPECT_TRUE(said) << FormatReport(clash, false);
  // With the pool on Pgpool-II's usual 9999 the rest imports.
  conf =
      ParsePgpoolConf(std::regex_replace(all, std::regex("\nport = 5433"), "\nport = 9999"), path);
  ImportResult r = ImportPgpool(conf, path, AuthFiles{}, ImportOptions{});
  std::string report = FormatReport(r, false);
  ASSERT_TRUE(r.ok()) << report;
  for (const auto& f : r.findings)
    EXPECT_EQ(f.text.find("unknown Pgpool-II parameter"), std::string::npos)
        << f.key << " at line " << f.line;
  // The sample's two backends, its ports, and its defaults as pgvigil reads them.
  ASSERT_EQ(r.spec.nodes.size(), 2u) << report;
  EXPECT_EQ(r.spec.nodes[0].host, "host1");
  EXPECT_EQ(r.spec.nodes[1].host, "host2");
  EXPECT_EQ(r.spec.nodes[1].port, 5433);
  EXPECT_EQ(r.spec.nodes[0].dataDirectory, "/data");
  EXPECT_EQ(r.spec.proxy.port, 9999);
  EXPECT_EQ(r.spec.api.port, 9898);
  EXPECT_FALSE(r.spec.watchdog.enabled);  // use_watchdog = off
  EXPECT_FALSE(r.spec.vip.enabled());     // delegate_IP = ''
  EXPECT_EQ(r.spec.healthCheck.maxRetries, 0);
  EXPECT_EQ(r.spec.healthCheck.timeout, std::chrono::seconds(20));
  // health_check_period = 0 (checks off) cannot be honoured; the process pool is unnecessary.
  auto has = [&](FindingKind kind, const std::string& key) {
    for (const auto& f : r.findings)
      if (f.kind == kind && f.key == key && f.line > 0) return true;
    return false;
  };
  EXPECT_TRUE(has(FindingKind::kUnsupported, "health_check_period")) << report;
  EXPECT_TRUE(has(FindingKind::kUnnecessary, "num_init_children")) << report;
  EXPECT_FALSE(has(FindingKind::kUnnecessary, "failover_command"))
      << "an empty command is nothing to remove";
  // reset_query_list appears twice in the sample: the later line wins, and it is said.
  bool duplicate = false;
  for (const auto& f : r.findings)
    duplicate |= f.text.find("'reset_query_list' is set again") != std::string::npos;
  EXPECT_TRUE(duplicate) << report;
  SpecParseOptions o;
  o.checkSecretFiles = false;
  SpecLoad load = ParseSpec(SpecToYaml(r.spec), "imported.yaml", o);
  EXPECT_TRUE(load.ok()) << load.ErrorText();
}

TEST(PgpoolDebianSamplesTest, ShippedPoolHbaAndPoolPasswdAreAccepted) {
  SAMPLE_OR_SKIP(hba, "pool_hba.conf");
  SAMPLE_OR_SKIP(passwd, "pool_passwd");
  PgpoolConf conf = ParsePgpoolConf("backend_hostname0 = 'db1'\nenable_pool_hba = on\n",
                                    "/etc/pgpool2/pgpool.conf");
  AuthFiles auth = AuthPaths(conf, "/etc/pgpool2/pgpool.conf", ImportOptions{});
  EXPECT_EQ(auth.hbaPath, "/etc/pgpool2/pool_hba.conf");
  EXPECT_EQ(auth.passwordPath, "/etc/pgpool2/pool_passwd");
  auth.hbaText = hba;
  auth.passwordText = passwd;
  ImportResult r = ImportPgpool(conf, "/etc/pgpool2/pgpool.conf", auth, ImportOptions{});
  EXPECT_TRUE(r.ok()) << FormatReport(r, false);
  EXPECT_EQ(r.spec.proxy.auth.hbaFile, "/etc/pgpool2/pool_hba.conf");
  EXPECT_EQ(r.spec.proxy.auth.passwordFile, "/etc/pgpool2/pool_passwd");
  // The examples file too (all comments and trust lines).
  SAMPLE_OR_SKIP(sample_hba, "pool_hba.conf.sample");
  auth.hbaText = sample_hba;
  EXPECT_TRUE(ImportPgpool(conf, "/etc/pgpool2/pgpool.conf", auth, ImportOptions{}).ok());
}

}  // namespace
}  // namespace pgvigil::pgpool
