// Prometheus metrics. Each component declares its metrics once (a struct of
// Counter&/Gauge& obtained from the registry at construction) and tests assert
// them by name. Counters and gauges are lock-free to update; Render() takes a lock.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace pgvigil {

class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Thread-safe. Metric objects live as long as the registry; references stay valid.
class MetricsRegistry {
 public:
  // name: "pgvigil_<component>_<what>[_total]"; labels: `reason="bad_mac"` style
  // text without braces (empty for none). Returns the same object for the same key.
  Counter& GetCounter(const std::string& name, const std::string& help,
                      const std::string& labels = "");
  Gauge& GetGauge(const std::string& name, const std::string& help,
                  const std::string& labels = "");
  // Prometheus text exposition format 0.0.4.
  std::string Render() const;
  // Value by "name" or "name{labels}"; -1 when absent. For tests and status output.
  double Value(const std::string& name, const std::string& labels = "") const;

 private:
  struct Family {
    std::string help;
    bool counter = true;
    std::map<std::string, std::unique_ptr<Counter>> counters;  // by labels
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
  };
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;  // guarded by mu_
};

}  // namespace pgvigil
