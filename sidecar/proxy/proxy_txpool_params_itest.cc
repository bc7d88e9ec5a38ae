// Integration, transaction pooling: the parameters PostgreSQL reports
// (client_encoding, DateStyle, TimeZone, standard_conforming_strings,
// application_name) follow their client, as through PgBouncer (real
// PostgreSQL 15, the shared three-node cluster; part of proxy_txpool_test):
//  * two clients sharing one backend each SET one of them and see their own
//    values in every statement, interleaved, in and out of transactions;
//  * a client gets ParameterStatus for its own SET (and RESET, and a
//    ROLLBACK that undoes a SET), never for the proxy's SETs that bring a
//    shared backend to its values;
//  * reads balanced to a standby run with the client's values too;
//  * set_config() of one of them with is_local false is followed as its SET;
//  * clients whose values are equal, then differ, then are equal again, on
//    one backend: each sees its own;
//  * any other session SET (or set_config()) is still refused with 0A000.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "sidecar/proxy/proxy_test_env.h"
#include "sidecar/proxy/raw_client_testutil.h"

namespace pgvigil::proxy::testenv {
namespace {

std::unique_ptr<ProxyUnderTest> ParamsProxy(bool balance) {
  ProxyOptions o;
  o.threads = 1;
  o.hba = "host all all 127.0.0.1/32 trust\n";  // the raw protocol client needs no password exchange
  o.adjust = [=](ClusterSpec& s) {
    s.proxy.pool.mode = PoolMode::kTransaction;
    s.proxy.pool.size = 1;  // one backend per node: every client shares it
    s.proxy.pool.queueTimeout = std::chrono::seconds(10);
    s.proxy.loadBalancing.enabled = balance;
    if (balance) {  // reads on node 1 only
      s.nodes[0].weight = 0;
      s.nodes[1].weight = 1;
      s.nodes[2].weight = 0;
    }
  };
  return StartProxy(o);
}

std::string Reported(PGconn* c, const char* name) {
  const char* v = PQparameterStatus(c, name);
  return v ? v : "(none)";
}

// A timestamp shown in the session's TimeZone and DateStyle.
const char* kStamp = "SELECT '2020-01-02 03:04:05+00'::timestamptz::text";

TEST(ProxyTxPoolParamsTest, SetParametersFollowTheirClients) {
  auto px = ParamsProxy(false);
  ASSERT_TRUE(px);
  const std::string extra = "sslmode=disable application_name=pgvigil_tx_params";
  auto a = Connect(px->port, "postgres", "", extra);
  auto b = Connect(px->port, "postgres", "", extra);
  ASSERT_TRUE(a->ok() && b->ok()) << a->error() << b->error();
  const std::string tz0 = b->Query("SHOW TimeZone"), ds0 = b->Query("SHOW DateStyle");
  ASSERT_NE(tz0, "Asia/Tokyo");
  ASSERT_EQ(ds0, "ISO, MDY");
  const std::string stamp0 = b->Query(kStamp);

  EXPECT_EQ(a->Query("SET TimeZone = 'Asia/Tokyo'"), "");
  EXPECT_EQ(Reported(a->c, "TimeZone"), "Asia/Tokyo");
  EXPECT_EQ(b->Query("SET DateStyle = 'SQL, DMY'"), "");
  EXPECT_EQ(Reported(b->c, "DateStyle"), "SQL, DMY");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a->Query("SHOW TimeZone"), "Asia/Tokyo") << i;
    EXPECT_EQ(b->Query("SHOW TimeZone"), tz0) << i;
    EXPECT_EQ(a->Query("SHOW DateStyle"), "ISO, MDY") << i;
    EXPECT_EQ(b->Query("SHOW DateStyle"), "SQL, DMY") << i;
    EXPECT_EQ(a->Query(kStamp), "2020-01-02 12:04:05+09") << i;
    EXPECT_EQ(b->Query("SELECT '2020-01-02'::date::text"), "02/01/2020") << i;
    // In a transaction too, by the extended protocol.
    EXPECT_EQ(a->Query("BEGIN"), "");
    EXPECT_EQ(ResultValue(a->c, PQexecParams(a->c, "SELECT current_setting('TimeZone')", 0, nullptr, nullptr,
                                             nullptr, nullptr, 0)),
              "Asia/Tokyo");
    EXPECT_EQ(a->Query("COMMIT"), "");
  }
  // Neither heard of the other's value, nor of the proxy's SETs.
  EXPECT_EQ(Reported(a->c, "TimeZone"), "Asia/Tokyo");
  EXPECT_EQ(Reported(a->c, "DateStyle"), "ISO, MDY");
  EXPECT_EQ(Reported(b->c, "TimeZone"), tz0);
  EXPECT_EQ(Reported(b->c, "DateStyle"), "SQL, DMY");

  // A SET undone by ROLLBACK is undone for the client (and reported so).
  EXPECT_EQ(a->Query("BEGIN"), "");
  EXPECT_EQ(a->Query("SET TimeZone = 'Europe/Paris'"), "");
  EXPECT_EQ(a->Query("SHOW TimeZone"), "Europe/Paris");
  EXPECT_EQ(a->Query("ROLLBACK"), "");
  EXPECT_EQ(Reported(a->c, "TimeZone"), "Asia/Tokyo");
  EXPECT_EQ(b->Query("SHOW TimeZone"), tz0);
  EXPECT_EQ(a->Query("SHOW TimeZone"), "Asia/Tokyo");

  // RESET: back to the client's startup value.
  EXPECT_EQ(a->Query("RESET TimeZone"), "");
  EXPECT_EQ(Reported(a->c, "TimeZone"), tz0);
  EXPECT_EQ(b->Query("SET TIME ZONE 'America/New_York'"), "");
  EXPECT_EQ(a->Query("SHOW TimeZone"), tz0);
  EXPECT_EQ(a->Query(kStamp), stamp0);
  EXPECT_EQ(b->Query("SHOW TimeZone"), "America/New_York");

  // set_config() of one of them, with is_local false, as its SET.
  EXPECT_EQ(a->Query("SELECT set_config('DateStyle', 'German', false)"), "German, DMY");
  EXPECT_EQ(Reported(a->c, "DateStyle"), "German, DMY");
  EXPECT_EQ(b->Query("SHOW DateStyle"), "SQL, DMY");
  EXPECT_EQ(a->Query("SHOW DateStyle"), "German, DMY");
  EXPECT_EQ(a->Query("RESET DateStyle"), "");

  // Any other session SET is refused as before.
  std::string e = a->Query("SET work_mem = '8MB'");
  EXPECT_EQ(e.rfind("ERROR 0A000", 0), 0u) << e;
  EXPECT_NE(e.find("SET (session level"), std::string::npos) << e;
  EXPECT_NE(e.find("proxy.pool.sessionState"), std::string::npos) << e;
  e = a->Query("SELECT set_config('work_mem', '8MB', false)");
  EXPECT_EQ(e.rfind("ERROR 0A000", 0), 0u) << e;
  EXPECT_NE(e.find("set_config() of work_mem"), std::string::npos) << e;
  e = a->Query("SELECT 1; SET TimeZone = 'UTC'");  // among several statements: not followed
  EXPECT_EQ(e.rfind("ERROR 0A000", 0), 0u) << e;
  EXPECT_EQ(a->Query("SHOW TimeZone"), tz0);
}

// Clients whose values are equal share one number for them, so the one
// backend goes from one to the other with no comparison; the moment one's
// values differ (or become equal again), each still sees its own.
TEST(ProxyTxPoolParamsTest, ClientsWithEqualValuesAndThenNot) {
  auto px = ParamsProxy(false);
  ASSERT_TRUE(px);
  const std::string extra = "sslmode=disable application_name=pgvigil_tx_equal";
  auto a = Connect(px->port, "postgres", "", extra);
  auto b = Connect(px->port, "postgres", "", extra);
  auto c = Connect(px->port, "postgres", "", extra);
  ASSERT_TRUE(a->ok() && b->ok() && c->ok()) << a->error() << b->error() << c->error();
  const std::string tz0 = c->Query("SHOW TimeZone");
  ASSERT_NE(tz0, "Asia/Tokyo");
  const char* both = "SELECT current_setting('TimeZone') || ' ' || current_setting('DateStyle')";
  EXPECT_EQ(a->Query("SET TimeZone = 'Asia/Tokyo'"), "");
  EXPECT_EQ(b->Query("SET TimeZone = 'Asia/Tokyo'"), "");  // a's and b's values are equal now
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(a->Query(both), "Asia/Tokyo ISO, MDY") << i;
    EXPECT_EQ(b->Query(both), "Asia/Tokyo ISO, MDY") << i;
    EXPECT_EQ(c->Query(both), tz0 + " ISO, MDY") << i;
  }
  // a's DateStyle moves on the backend; b (same TimeZone) takes it next.
  EXPECT_EQ(a->Query("SET DateStyle = 'SQL, DMY'"), "");
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(b->Query(both), "Asia/Tokyo ISO, MDY") << i;
    EXPECT_EQ(a->Query(both), "Asia/Tokyo SQL, DMY") << i;
    EXPECT_EQ(b->Query(both), "Asia/Tokyo ISO, MDY") << i;
    EXPECT_EQ(c->Query(both), tz0 + " ISO, MDY") << i;
  }
  // A SET in a transaction block, committed.
  EXPECT_EQ(b->Query("BEGIN"), "");
  EXPECT_EQ(b->Query("SET DateStyle = 'SQL, DMY'"), "");
  EXPECT_EQ(b->Query("COMMIT"), "");  // equal to a's again
  EXPECT_EQ(a->Query("RESET DateStyle"), "");  // and a's to c's, but for TimeZone
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(b->Query(both), "Asia/Tokyo SQL, DMY") << i;
    EXPECT_EQ(a->Query(both), "Asia/Tokyo ISO, MDY") << i;
    EXPECT_EQ(c->Query(both), tz0 + " ISO, MDY") << i;
    EXPECT_EQ(b->Query(both), "Asia/Tokyo SQL, DMY") << i;
  }
  EXPECT_EQ(Reported(a->c, "DateStyle"), "ISO, MDY");
  EXPECT_EQ(Reported(b->c, "DateStyle"), "SQL, DMY");
  EXPECT_EQ(Reported(c->c, "TimeZone"), tz0);
}

TEST(ProxyTxPoolParamsTest, ParameterStatusOnlyForTheClientsOwnSet) {
  auto px = ParamsProxy(false);
  ASSERT_TRUE(px);
  RawPg raw(px->port);
  ASSERT_TRUE(raw.ready);
  auto other = Connect(px->port, "postgres", "", "sslmode=disable application_name=pgvigil_tx_raw");
  ASSERT_TRUE(other->ok()) << other->error();
  EXPECT_EQ(raw.Simple("SET application_name = 'raw_own'"), "CZ") << raw.lastError;
  ASSERT_EQ(raw.reported.size(), 1u);
  EXPECT_EQ(raw.reported[0], std::make_pair(std::string("application_name"), std::string("raw_own")));
  for (int i = 0; i < 3; ++i) {
    // The other client takes the one backend (the proxy sets it back to
    // pgvigil_tx_raw for it) and changes DateStyle there.
    EXPECT_EQ(other->Query("SELECT current_setting('application_name')"), "pgvigil_tx_raw") << i;
    EXPECT_EQ(other->Query(i % 2 ? "SET DateStyle = 'German'" : "SET DateStyle = 'SQL, DMY'"), "") << i;
    // The raw client's statements run with its value, and it hears nothing.
    EXPECT_EQ(raw.Simple("SELECT current_setting('application_name')"), "TDCZ") << i;
    EXPECT_EQ(raw.lastValue, "raw_own") << i;
    EXPECT_EQ(raw.Run(RunStatement("SELECT current_setting('DateStyle')")), "12DCZ") << i;
    EXPECT_EQ(raw.lastValue, "ISO, MDY") << i;
  }
  EXPECT_EQ(raw.reported.size(), 1u);
  EXPECT_EQ(raw.Simple("RESET application_name"), "CZ");
  ASSERT_EQ(raw.reported.size(), 2u);
  EXPECT_EQ(raw.reported[1], std::make_pair(std::string("application_name"), std::string("pgvigil_tx_raw")));
}

TEST(ProxyTxPoolParamsTest, ReadsOnAStandbyRunWithTheClientsValues) {
  auto px = ParamsProxy(true);
  ASSERT_TRUE(px);
  const std::string extra = "sslmode=disable application_name=pgvigil_tx_params_lb";
  std::vector<std::unique_ptr<Conn>> cs;
  for (int i = 0; i < 4; ++i) {
    cs.push_back(Connect(px->port, "postgres", "", extra));
    ASSERT_TRUE(cs.back()->ok()) << cs.back()->error();
  }
  const std::string tz0 = cs[0]->Query("SHOW TimeZone");
  // On the primary.
  EXPECT_EQ(cs[0]->Query("SET TimeZone = 'Asia/Tokyo'"), "");
  EXPECT_EQ(cs[1]->Query("SET DateStyle = 'SQL, DMY'"), "");
  EXPECT_EQ(cs[2]->Query("SET TimeZone = 'America/New_York'"), "");
  const std::string values[] = {"Asia/Tokyo ISO, MDY", tz0 + " SQL, DMY", "America/New_York ISO, MDY",
                                tz0 + " ISO, MDY"};
  // Four clients, one backend per node (a read whose standby's backend is
  // busy or lent goes to another node with one to give): the standbys'
  // backends are shared, each set to the values of the client reading there.
  const char* where = "SELECT current_setting('TimeZone') || ' ' || current_setting('DateStyle') || ' ' || "
                      "inet_server_port()";
  const std::string s1 = " " + std::to_string(NodePort(1)), s2 = " " + std::to_string(NodePort(2));
  std::set<int> on_standby;
  for (int i = 0; i < 4; ++i) {
    for (int k = 0; k < 4; ++k) {
      const std::string got = cs[size_t(k)]->Query(where);
      EXPECT_EQ(got.substr(0, values[k].size() + 1), values[k] + " ") << "client " << k << ", round " << i;
      if (got == values[k] + s1 || got == values[k] + s2) on_standby.insert(k);
    }
    EXPECT_EQ(cs[0]->Query(kStamp), "2020-01-02 12:04:05+09") << i;
  }
  // More clients read on the standbys than they have backends.
  EXPECT_GE(on_standby.size(), 3u);
  EXPECT_EQ(Reported(cs[0]->c, "TimeZone"), "Asia/Tokyo");
  EXPECT_EQ(Reported(cs[1]->c, "TimeZone"), tz0);
  EXPECT_EQ(Reported(cs[3]->c, "DateStyle"), "ISO, MDY");
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
