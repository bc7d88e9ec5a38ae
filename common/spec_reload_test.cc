// CompareReloadedSpec: table of reloaded spec texts against the one in use.
#include "common/spec_reload.h"

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

const char* kBase = R"(apiVersion: pgvigil.io/v1alpha1
kind: PostgresCluster
metadata:
  name: prod
spec:
  postgres:
    superuser: {name: postgres, passwordFile: /etc/pgvigil/secrets/postgres.password}
    replicationUser: {name: repl, passwordFile: /etc/pgvigil/secrets/repl.password}
  nodes:
    - {name: server1, host: 10.0.0.11}
    - {name: server2, host: 10.0.0.12}
    - {name: server3, host: 10.0.0.13}
  watchdog:
    authKeyFile: /etc/pgvigil/secrets/watchdog.key
)";

SpecLoad Parse(const std::string& text) {
  SpecParseOptions o;
  o.checkSecretFiles = false;
  return ParseSpec(text, "cluster.yaml", o);
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

struct Case {
  const char* what;
  std::string text;
  std::string node;
  SpecReload::Outcome outcome;
  std::vector<std::string> sections;  // kChanged
  std::string errorPart;              // kInvalid: a substring of the errors
};

TEST(SpecReload, Table) {
  SpecLoad base = Parse(kBase);
  ASSERT_TRUE(base.ok()) << base.ErrorText();
  using O = SpecReload::Outcome;
  std::vector<Case> cases = {
      {"same text", kBase, "server1", O::kUnchanged, {}, ""},
      {"comments, flow vs block style and a spelled-out default do not count",
       std::string("# edited by hand\n") +
           Replace(kBase, "  watchdog:\n", "  failover:\n    automatic: true\n  watchdog:\n"),
       "server2", O::kUnchanged, {}, ""},
      {"a health check setting", std::string(kBase) + "  healthCheck:\n    period: 3s\n", "server1",
       O::kChanged, {"healthCheck"}, ""},
      {"a fourth node and the VIP", std::string(kBase) +
           "  vip:\n    address: 10.0.0.150/24\n" ,
       "server1", O::kChanged, {"vip"}, ""},
      {"a node moved and the proxy port",
       Replace(kBase, "host: 10.0.0.13", "host: 10.0.0.23") + "  proxy:\n    port: 5433\n",
       "server1", O::kChanged, {"nodes", "proxy"}, ""},
      {"syntax error", Replace(kBase, "  nodes:\n", "  nodes: [\n"), "server1", O::kInvalid, {},
       "cluster.yaml:"},
      {"invalid value with its line", Replace(kBase, "host: 10.0.0.12}", "host: 10.0.0.12, weight: -1}"),
       "server1", O::kInvalid, {}, "cluster.yaml:11:"},
      {"renamed cluster", Replace(kBase, "name: prod", "name: other"), "server1", O::kInvalid, {},
       "cannot be renamed"},
      {"this host's node removed", Replace(kBase, "    - {name: server3, host: 10.0.0.13}\n", ""),
       "server3", O::kInvalid, {}, "'server3' is no longer in spec.nodes"},
      {"another host's node removed is a change",
       Replace(kBase, "    - {name: server3, host: 10.0.0.13}\n", ""), "server1", O::kChanged,
       {"nodes"}, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    SpecReload r = CompareReloadedSpec(*base.spec, Parse(c.text), c.node);
    EXPECT_EQ(r.outcome, c.outcome) << r.Summary();
    if (c.outcome == O::kChanged) {
      EXPECT_EQ(r.changedSections, c.sections);
    } else {
      EXPECT_TRUE(r.changedSections.empty());
    }
    if (c.outcome == O::kInvalid) {
      ASSERT_FALSE(r.errors.empty());
      EXPECT_NE(r.Summary().find(c.errorPart), std::string::npos) << r.Summary();
      EXPECT_NE(r.Summary().find("the one in use stays"), std::string::npos);
    } else {
      EXPECT_TRUE(r.errors.empty());
    }
  }
}

TEST(SpecReload, SummaryNamesTheChangedSections) {
  SpecLoad base = Parse(kBase);
  ASSERT_TRUE(base.ok());
  SpecReload r = CompareReloadedSpec(
      *base.spec, Parse(std::string(kBase) + "  healthCheck:\n    period: 3s\n  proxy:\n    port: 5433\n"), "");
  EXPECT_EQ(r.Summary(), "the spec changed in: healthCheck, proxy");
  EXPECT_EQ(CompareReloadedSpec(*base.spec, base, "").Summary(), "the spec is unchanged");
}

}  // namespace
}  // namespace pgvigil
