// What the proxy knows of functions' volatility (pg_proc.provolatile), per
// database, for routing reads that call functions when no function lists are
// configured (Pgpool-II does the same lookup). A session asks Classify; names
// not known (or known longer than the time to live) are looked up by the
// session with LookupQuery on one of its backends, and the rows stored with
// Store. A name with no row in pg_proc (not a function after all, e.g. a table
// alias's column list, or one not replayed yet where it was asked) is stored
// as volatile: reads calling it go to the primary. DDL in a session drops that
// database's entries (Forget).
// Bounded: at most kMaxDatabases databases and kMaxNamesPerDatabase names each
// (a full database's entries are dropped before new ones go in).
// Thread-safe (one mutex); time is passed in.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pgvigil::proxy {

class FunctionVolatility {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxDatabases = 64;
  static constexpr size_t kMaxNamesPerDatabase = 4096;
  static constexpr size_t kMaxNamesPerLookup = 32;
  static constexpr std::chrono::seconds kTimeToLive{30};

  enum class Verdict { kStable, kVolatile, kUnknown };
  // kVolatile when any name is known volatile; kUnknown when some are not
  // known (their names in *unknown); kStable when all are known not volatile.
  Verdict Classify(const std::string& db, const std::vector<std::string>& names, Clock::time_point now,
                   std::vector<std::string>* unknown) const;
  // Stores looked-up rows: (name, volatile).
  void Store(const std::string& db, const std::vector<std::pair<std::string, bool>>& rows, Clock::time_point now);
  void Forget(const std::string& db);
  size_t Size(const std::string& db) const;

  // SQL answering one row (name, 't'/'f': any overload volatile) per name
  // found in pg_proc. Names with a quote or backslash are left out (the read
  // then goes to the primary). At most kMaxNamesPerLookup names.
  static std::string LookupQuery(const std::vector<std::string>& names);

 private:
  struct Entry {
    bool isVolatile = false;
    Clock::time_point at;
  };
  mutable std::mutex mu_;
  std::map<std::string, std::unordered_map<std::string, Entry>> dbs_;  // guarded by mu_
};

}  // namespace pgvigil::proxy
