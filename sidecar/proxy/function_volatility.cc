#include "sidecar/proxy/function_volatility.h"

namespace pgvigil::proxy {

FunctionVolatility::Verdict FunctionVolatility::Classify(const std::string& db, const std::vector<std::string>& names,
                                                         Clock::time_point now,
                                                         std::vector<std::string>* unknown) const {
  std::lock_guard<std::mutex> l(mu_);
  auto d = dbs_.find(db);
  bool any_unknown = false;
  for (const auto& n : names) {
    const Entry* e = nullptr;
    if (d != dbs_.end()) {
      auto it = d->second.find(n);
      if (it != d->second.end() && now - it->second.at < kTimeToLive) e = &it->second;
    }
    if (!e) {
      any_unknown = true;
      if (unknown) unknown->push_back(n);
      continue;
    }
    if (e->isVolatile) return Verdict::kVolatile;
  }
  return any_unknown ? Verdict::kUnknown : Verdict::kStable;
}

void FunctionVolatility::Store(const std::string& db, const std::vector<std::pair<std::string, bool>>& rows,
                               Clock::time_point now) {
  std::lock_guard<std::mutex> l(mu_);
  if (!dbs_.count(db) && dbs_.size() >= kMaxDatabases) dbs_.erase(dbs_.begin());
  auto& m = dbs_[db];
  for (const auto& [name, vol] : rows) {
    if (m.size() >= kMaxNamesPerDatabase && !m.count(name)) m.clear();
    m[name] = Entry{vol, now};
  }
}

void FunctionVolatility::Forget(const std::string& db) {
  std::lock_guard<std::mutex> l(mu_);
  dbs_.erase(db);
}

size_t FunctionVolatility::Size(const std::string& db) const {
  std::lock_guard<std::mutex> l(mu_);
  auto d = dbs_.find(db);
  return d == dbs_.end() ? 0 : d->second.size();
}

std::string FunctionVolatility::LookupQuery(const std::vector<std::string>& names) {
  std::string list;
  size_t n = 0;
  for (const auto& name : names) {
    if (n == kMaxNamesPerLookup) break;
    if (name.empty() || name.find('\'') != std::string::npos || name.find('\\') != std::string::npos) continue;
    if (!list.empty()) list += ",";
    list += "'" + name + "'";
    ++n;
  }
  if (list.empty()) list = "''";
  return "SELECT proname::text, bool_or(provolatile = 'v') FROM pg_catalog.pg_proc WHERE proname = ANY (ARRAY[" +
         list + "]::name[]) GROUP BY proname";
}

}  // namespace pgvigil::proxy
