#include "sidecar/agent/standby_config.h"

#include <cctype>
#include <sstream>


namespace pgvigil {

std::string QuoteConnValue(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string PrimaryConnInfo(const StandbySettings& s) {
  std::string c = "host=" + QuoteConnValue(s.primaryHost) + " port=" + std::to_string(s.primaryPort) +
                  " user=" + QuoteConnValue(s.user);
  if (!s.password.empty()) c += " password=" + QuoteConnValue(s.password);
  if (!s.applicationName.empty()) c += " application_name=" + QuoteConnValue(s.applicationName);
  return c;
}

std::map<std::string, std::string> StandbyGucs(const StandbySettings& s) {
  std::map<std::string, std::string> g;
  g["primary_conninfo"] = PrimaryConnInfo(s);
  g["primary_slot_name"] = s.slot;
  g["recovery_target_timeline"] = "latest";
  if (s.localPort > 0) g["port"] = std::to_string(s.localPort);
  return g;
}

std::string SqlLiteral(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

namespace {

// The GUC name a postgresql.conf line sets ("" for comments / blank lines).
std::string LineKey(const std::string& line) {
  size_t i = 0;
  while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
  size_t start = i;
  while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_' ||
                             line[i] == '.'))
    ++i;
  if (i == start) return "";
  std::string key = line.substr(start, i - start);
  for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return key;
}

}  // namespace

std::string RewriteAutoConf(const std::string& content,
                            const std::map<std::string, std::string>& gucs) {
  std::ostringstream out;
  std::istringstream in(content);
  std::string line;
  while (std::getline(in, line)) {
    if (gucs.count(LineKey(line))) continue;
    out << line << "\n";
  }
  for (const auto& [name, value] : gucs)
    if (!value.empty()) out << name << " = " << SqlLiteral(value) << "\n";
  return out.str();
}

std::vector<std::string> AlterSystemStatements(const std::map<std::string, std::string>& gucs) {
  std::vector<std::string> out;
  for (const auto& [name, value] : gucs) {
    if (value.empty()) out.push_back("ALTER SYSTEM RESET " + name);
    else out.push_back("ALTER SYSTEM SET " + name + " = " + SqlLiteral(value));
  }
  return out;
}

}  // namespace pgvigil
