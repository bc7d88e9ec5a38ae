// Client authentication rules in pool_hba.conf / pg_hba.conf format:
//   local    DATABASE USER METHOD
//   host|hostssl|hostnossl DATABASE USER ADDRESS[/PREFIX | MASK] METHOD
// DATABASE/USER: comma lists, "all", "sameuser" (database). METHOD: trust,
// md5, scram-sha-256, reject. The first matching line decides; none matching
// rejects. Pure; immutable after parsing, so shareable across threads.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace pgvigil::proxy {

enum class AuthMethod { kTrust, kMd5, kScram, kReject };
const char* ToString(AuthMethod m);

struct HbaRule {
  enum Type { kLocal, kHost, kHostSsl, kHostNoSsl } type = kHost;
  std::vector<std::string> databases, users;  // "all" matches any
  uint8_t addr[16] = {};
  uint8_t mask[16] = {};
  bool v6 = false;
  bool anyAddress = false;  // "all"
  AuthMethod method = AuthMethod::kReject;
  int line = 0;
};

struct HbaDecision {
  AuthMethod method = AuthMethod::kReject;
  int line = 0;  // 0: no rule matched
};

class HbaRules {
 public:
  static Result<HbaRules> Parse(const std::string& text);
  static Result<HbaRules> Load(const std::string& path);
  // Default when no file is configured: scram-sha-256 for every connection,
  // local or remote (trust is never implied; a hba file must say it).
  static HbaRules ScramEverywhere();
  // client_addr: "127.0.0.1" / "::1"; empty for unix-socket clients.
  HbaDecision Match(const std::string& client_addr, bool ssl, const std::string& database,
                    const std::string& user) const;
  size_t size() const { return rules_.size(); }

 private:
  std::vector<HbaRule> rules_;
};

}  // namespace pgvigil::proxy
