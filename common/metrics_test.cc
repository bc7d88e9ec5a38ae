// MetricsRegistry as a component and a scraper use it: one object per name and
// labels, values readable by name, and the Prometheus text format.
#include "common/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace pgvigil {
namespace {

TEST(MetricsRegistryTest, SameKeyGivesTheSameObject) {
  MetricsRegistry m;
  Counter& a = m.GetCounter("pgvigil_test_events_total", "Events.", "reason=\"a\"");
  Counter& a2 = m.GetCounter("pgvigil_test_events_total", "Events.", "reason=\"a\"");
  Counter& b = m.GetCounter("pgvigil_test_events_total", "Events.", "reason=\"b\"");
  Counter& plain = m.GetCounter("pgvigil_test_events_total", "Events.");
  EXPECT_EQ(&a, &a2);
  EXPECT_NE(&a, &b);
  EXPECT_NE(&a, &plain);
  Gauge& g = m.GetGauge("pgvigil_test_level", "Level.");
  EXPECT_EQ(&g, &m.GetGauge("pgvigil_test_level", "Level."));
}

TEST(MetricsRegistryTest, ValuesByNameAndLabels) {
  MetricsRegistry m;
  Counter& a = m.GetCounter("pgvigil_test_events_total", "Events.", "reason=\"a\"");
  Counter& b = m.GetCounter("pgvigil_test_events_total", "Events.", "reason=\"b\"");
  Gauge& g = m.GetGauge("pgvigil_test_level", "Level.");
  a.Inc();
  a.Inc(4);
  b.Inc();
  g.Set(2.5);
  EXPECT_EQ(a.Value(), 5u);
  EXPECT_EQ(m.Value("pgvigil_test_events_total", "reason=\"a\""), 5);
  EXPECT_EQ(m.Value("pgvigil_test_events_total", "reason=\"b\""), 1);
  EXPECT_EQ(m.Value("pgvigil_test_level"), 2.5);
  g.Set(-1.25);
  EXPECT_EQ(g.Value(), -1.25);
  // Absent: -1.
  EXPECT_EQ(m.Value("pgvigil_test_events_total"), -1);  // no unlabelled series
  EXPECT_EQ(m.Value("pgvigil_test_events_total", "reason=\"c\""), -1);
  EXPECT_EQ(m.Value("pgvigil_test_missing"), -1);
}

TEST(MetricsRegistryTest, CountersCountEveryIncrementFromManyThreads) {
  MetricsRegistry m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&m] {
      // Looked up in the thread too: the registry is shared.
      Counter& c = m.GetCounter("pgvigil_test_ops_total", "Ops.");
      for (int i = 0; i < 20000; ++i) c.Inc();
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(m.Value("pgvigil_test_ops_total"), 80000);
}

TEST(MetricsRegistryTest, RendersPrometheusText) {
  MetricsRegistry m;
  m.GetCounter("pgvigil_watchdog_rejected_total", "Watchdog packets rejected.", "reason=\"bad_mac\"").Inc(2);
  m.GetCounter("pgvigil_watchdog_rejected_total", "Watchdog packets rejected.", "reason=\"replay\"").Inc();
  m.GetGauge("pgvigil_agent_lag_bytes", "Replay lag.").Set(123456789);
  m.GetGauge("pgvigil_agent_up", "1 when up.").Set(1);
  m.GetGauge("pgvigil_agent_ratio", "A fraction.").Set(0.25);
  EXPECT_EQ(m.Render(),
            "# HELP pgvigil_agent_lag_bytes Replay lag.\n"
            "# TYPE pgvigil_agent_lag_bytes gauge\n"
            "pgvigil_agent_lag_bytes 123456789\n"
            "# HELP pgvigil_agent_ratio A fraction.\n"
            "# TYPE pgvigil_agent_ratio gauge\n"
            "pgvigil_agent_ratio 0.25\n"
            "# HELP pgvigil_agent_up 1 when up.\n"
            "# TYPE pgvigil_agent_up gauge\n"
            "pgvigil_agent_up 1\n"
            "# HELP pgvigil_watchdog_rejected_total Watchdog packets rejected.\n"
            "# TYPE pgvigil_watchdog_rejected_total counter\n"
            "pgvigil_watchdog_rejected_total{reason=\"bad_mac\"} 2\n"
            "pgvigil_watchdog_rejected_total{reason=\"replay\"} 1\n");
}

TEST(MetricsRegistryTest, RendersLargeAndSpecialValuesExactly) {
  MetricsRegistry m;
  m.GetGauge("pgvigil_test_big", "Big.").Set(9007199254740992.0);  // 2^53
  m.GetGauge("pgvigil_test_fraction", "Fraction.").Set(0.1);
  m.GetGauge("pgvigil_test_nan", "NaN.").Set(std::nan(""));
  m.GetGauge("pgvigil_test_inf", "Inf.").Set(std::numeric_limits<double>::infinity());
  m.GetGauge("pgvigil_test_ninf", "-Inf.").Set(-std::numeric_limits<double>::infinity());
  m.GetCounter("pgvigil_test_total", "Counter.").Inc(18446744073709551615ull);
  std::string text = m.Render();
  EXPECT_NE(text.find("\npgvigil_test_big 9007199254740992\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\npgvigil_test_fraction 0.1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\npgvigil_test_nan NaN\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\npgvigil_test_inf +Inf\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\npgvigil_test_ninf -Inf\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\npgvigil_test_total 18446744073709551615\n"), std::string::npos) << text;
}

TEST(MetricsRegistryTest, HelpTextIsEscaped) {
  MetricsRegistry m;
  m.GetCounter("pgvigil_test_total", "Line one\nline two with a \\ backslash.");
  EXPECT_EQ(m.Render(),
            "# HELP pgvigil_test_total Line one\\nline two with a \\\\ backslash.\n"
            "# TYPE pgvigil_test_total counter\n"
            "pgvigil_test_total 0\n");
}

}  // namespace
}  // namespace pgvigil
