// Test helper: the same steps with a raw protocol client on PostgreSQL
// itself (node 0, the primary, over its Unix socket) and then through the
// proxy, so that a test expects the same answers from both. Test code only.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "sidecar/proxy/proxy_test_env.h"
#include "sidecar/proxy/raw_client_testutil.h"

namespace pgvigil::proxy::testenv {

// steps(x, direct): x is the client on PostgreSQL (direct) or on px.
template <typename F>
void OnPostgresThenProxy(const std::unique_ptr<ProxyUnderTest>& px, F&& steps) {
  ASSERT_TRUE(px);
  RawPg c(px->port), d(NodeSocket(0));
  ASSERT_TRUE(c.ready && d.ready);
  for (bool direct : {true, false}) {
    SCOPED_TRACE(direct ? "PostgreSQL" : "proxy");
    steps(direct ? d : c, direct);
  }
}

// The session's settings as one value: work_mem (a SET the proxy replays on a
// backend that joins the session: session mode, or a client pinned in
// transaction mode) and application_name (followed by the proxy in
// transaction mode), on the session's standby (a read) and on the primary.
// The value of the SELECT q, likewise.
inline void ExpectReadAndPrimary(RawPg& x, const std::string& q, const std::string& want) {
  EXPECT_EQ(x.Simple(q), "TDCZ") << x.lastError;
  EXPECT_EQ(x.lastValue, want);
  EXPECT_EQ(x.Simple("/*NO LOAD BALANCE*/ " + q), "TDCZ") << x.lastError;
  EXPECT_EQ(x.lastValue, want);
}
inline void ExpectSettings(RawPg& x, const std::string& want) {
  ExpectReadAndPrimary(x, "SELECT current_setting('work_mem') || ' ' || current_setting('application_name')", want);
}

// The settings ExpectSettings then reads as "3MB kept" (work_mem only when
// `replayed`: a transaction-pooling client that is refused session state
// cannot set it).
inline void SetSessionSettings(RawPg& x, bool replayed) {
  if (replayed) {
    EXPECT_EQ(x.Simple("SET work_mem = '3MB'"), "CZ") << x.lastError;
  }
  EXPECT_EQ(x.Simple("SET application_name = 'kept'"), "CZ") << x.lastError;
}

// Policies to run a test under: transaction mode also with sessionState pin
// (a SET of work_mem pins the client, and the proxy replays it).
inline std::vector<SessionStatePolicy> Policies(PoolMode m) {
  if (m == PoolMode::kSession) return {SessionStatePolicy::kRefuse};
  return {SessionStatePolicy::kRefuse, SessionStatePolicy::kPin};
}

}  // namespace pgvigil::proxy::testenv
