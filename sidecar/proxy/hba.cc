#include "sidecar/proxy/hba.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include <fstream>
#include <sstream>

namespace pgvigil::proxy {

const char* ToString(AuthMethod m) {
  switch (m) {
    case AuthMethod::kTrust: return "trust";
    case AuthMethod::kMd5: return "md5";
    case AuthMethod::kScram: return "scram-sha-256";
    case AuthMethod::kReject: return "reject";
  }
  return "?";
}

namespace {

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

bool ParseAddr(const std::string& text, uint8_t* out, bool* v6) {
  if (inet_pton(AF_INET, text.c_str(), out) == 1) {
    *v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), out) == 1) {
    *v6 = true;
    return true;
  }
  return false;
}

void PrefixMask(int prefix, int bytes, uint8_t* mask) {
  for (int i = 0; i < bytes; ++i) {
    int bits = prefix - 8 * i;
    mask[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : uint8_t(0xff << (8 - bits));
  }
}

bool ListMatches(const std::vector<std::string>& list, const std::string& value,
                 const std::string& user, bool database) {
  for (const auto& item : list) {
    if (item == "all" || item == value) return true;
    if (database && item == "sameuser" && value == user) return true;
  }
  return false;
}

}  // namespace

Result<HbaRules> HbaRules::Parse(const std::string& text) {
  HbaRules rules;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string x; words >> x;) w.push_back(x);
    if (w.empty()) continue;
    auto err = [&](const std::string& why) {
      return Result<HbaRules>::Error("line " + std::to_string(lineno) + ": " + why);
    };
    HbaRule r;
    r.line = lineno;
    if (w[0] == "local") r.type = HbaRule::kLocal;
    else if (w[0] == "host") r.type = HbaRule::kHost;
    else if (w[0] == "hostssl") r.type = HbaRule::kHostSsl;
    else if (w[0] == "hostnossl") r.type = HbaRule::kHostNoSsl;
    else return err("unknown connection type '" + w[0] + "'");
    size_t need = r.type == HbaRule::kLocal ? 4 : 5;
    if (w.size() < need) return err("too few fields");
    r.databases = SplitComma(w[1]);
    r.users = SplitComma(w[2]);
    size_t method_at = 3;
    if (r.type != HbaRule::kLocal) {
      std::string a = w[3];
      if (a == "all" || a == "0.0.0.0/0" || a == "::/0") {
        r.anyAddress = true;
        method_at = 4;
      } else {
        size_t slash = a.find('/');
        std::string host = a.substr(0, slash);
        if (!ParseAddr(host, r.addr, &r.v6)) return err("invalid address '" + a + "'");
        int bytes = r.v6 ? 16 : 4;
        if (slash != std::string::npos) {
          int prefix = std::atoi(a.c_str() + slash + 1);
          if (prefix < 0 || prefix > bytes * 8) return err("invalid prefix in '" + a + "'");
          PrefixMask(prefix, bytes, r.mask);
          method_at = 4;
        } else {
          if (w.size() < 6) return err("address without /prefix needs a mask");
          bool mv6 = false;
          if (!ParseAddr(w[4], r.mask, &mv6) || mv6 != r.v6) return err("invalid mask '" + w[4] + "'");
          method_at = 5;
        }
      }
    }
    const std::string& m = w[method_at];
    if (m == "trust") r.method = AuthMethod::kTrust;
    else if (m == "md5") r.method = AuthMethod::kMd5;
    else if (m == "scram-sha-256") r.method = AuthMethod::kScram;
    else if (m == "reject") r.method = AuthMethod::kReject;
    else return err("unsupported method '" + m + "'");
    rules.rules_.push_back(r);
  }
  return rules;
}

Result<HbaRules> HbaRules::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Result<HbaRules>::Error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto r = Parse(ss.str());
  if (!r.ok()) return Result<HbaRules>::Error(path + ": " + r.error());
  return r;
}

HbaRules HbaRules::ScramEverywhere() {
  auto r = Parse("local all all scram-sha-256\nhost all all all scram-sha-256\n");
  return *r;
}

HbaDecision HbaRules::Match(const std::string& client_addr, bool ssl, const std::string& database,
                            const std::string& user) const {
  uint8_t addr[16] = {};
  bool v6 = false;
  bool local = client_addr.empty();
  if (!local && !ParseAddr(client_addr, addr, &v6)) return {};
  // IPv4-mapped IPv6 (::ffff:a.b.c.d) matches IPv4 rules.
  if (v6 && addr[10] == 0xff && addr[11] == 0xff &&
      std::all_of(addr, addr + 10, [](uint8_t b) { return b == 0; })) {
    std::memmove(addr, addr + 12, 4);
    v6 = false;
  }
  for (const auto& r : rules_) {
    if (local != (r.type == HbaRule::kLocal)) continue;
    if (r.type == HbaRule::kHostSsl && !ssl) continue;
    if (r.type == HbaRule::kHostNoSsl && ssl) continue;
    if (!local && !r.anyAddress) {
      if (r.v6 != v6) continue;
      bool ok = true;
      for (int i = 0; i < (v6 ? 16 : 4); ++i)
        if ((addr[i] & r.mask[i]) != (r.addr[i] & r.mask[i])) ok = false;
      if (!ok) continue;
    }
    if (!ListMatches(r.databases, database, user, true)) continue;
    if (!ListMatches(r.users, user, user, false)) continue;
    return {r.method, r.line};
  }
  return {};
}

}  // namespace pgvigil::proxy
