// Test helper: the same steps with a raw protocol client on PostgreSQL
// itself (node 0, the primary, over its Unix socket) and then through the
// proxy, so that a test expects the same answers from both. Test code only.
#pragma once

#include <gtest/gtest.h>

#include <memory>

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

}  // namespace pgvigil::proxy::testenv
