#include "sidecar/agent/standby_config.h"

#include <cctype>
#include <cstdio>
#include <sstream>

namespace pgvigil {

Status RefuseControlCharacters(const std::string& what, const std::string& v) {
  for (size_t i = 0; i < v.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    if (c < 0x20 || c == 0x7f) {
      char code[8];
      std::snprintf(code, sizeof code, "0x%02x", c);
      return Status::Error(what + " holds a control character (" + code + " at byte " +
                           std::to_string(i) +
                           "); PostgreSQL settings cannot carry it: change the value");
    }
  }
  return Status::Ok();
}

std::string QuoteConnValue(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

Result<std::string> PrimaryConnInfo(const StandbySettings& s) {
  struct Field {
    const char* what;
    const std::string& value;
  } fields[] = {{"the primary's host", s.primaryHost},
                {"the replication user name", s.user},
                {"the replication password", s.password},
                {"the application name", s.applicationName}};
  for (const auto& f : fields)
    if (Status st = RefuseControlCharacters(f.what, f.value); !st.ok()) return st;
  std::string c = "host=" + QuoteConnValue(s.primaryHost) + " port=" + std::to_string(s.primaryPort) +
                  " user=" + QuoteConnValue(s.user);
  if (!s.password.empty()) c += " password=" + QuoteConnValue(s.password);
  if (!s.applicationName.empty()) c += " application_name=" + QuoteConnValue(s.applicationName);
  return c;
}

Result<std::map<std::string, std::string>> StandbyGucs(const StandbySettings& s) {
  auto conninfo = PrimaryConnInfo(s);
  if (!conninfo.ok()) return conninfo.status();
  if (Status st = RefuseControlCharacters("the slot name", s.slot); !st.ok()) return st;
  std::map<std::string, std::string> g;
  g["primary_conninfo"] = *conninfo;
  g["primary_slot_name"] = s.slot;
  g["recovery_target_timeline"] = "latest";
  if (s.localPort > 0) g["port"] = std::to_string(s.localPort);
  return g;
}

std::string GucFileLiteral(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out.push_back(c);
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string SqlLiteral(const std::string& v) {
  bool backslash = v.find('\\') != std::string::npos;
  std::string out = backslash ? "E'" : "'";
  for (char c : v) {
    if (c == '\'' || (backslash && c == '\\')) out.push_back(c);
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

Status CheckValues(const std::map<std::string, std::string>& gucs) {
  for (const auto& [name, value] : gucs)
    if (Status s = RefuseControlCharacters("setting " + name, value); !s.ok()) return s;
  return Status::Ok();
}

}  // namespace

Result<std::string> RewriteAutoConf(const std::string& content,
                                    const std::map<std::string, std::string>& gucs) {
  if (Status s = CheckValues(gucs); !s.ok()) return s;
  std::ostringstream out;
  std::istringstream in(content);
  std::string line;
  while (std::getline(in, line)) {
    if (gucs.count(LineKey(line))) continue;
    out << line << "\n";
  }
  for (const auto& [name, value] : gucs)
    if (!value.empty()) out << name << " = " << GucFileLiteral(value) << "\n";
  return out.str();
}

Result<std::vector<std::string>> AlterSystemStatements(const std::map<std::string, std::string>& gucs) {
  if (Status s = CheckValues(gucs); !s.ok()) return s;
  std::vector<std::string> out;
  for (const auto& [name, value] : gucs) {
    if (value.empty()) out.push_back("ALTER SYSTEM RESET " + name);
    else out.push_back("ALTER SYSTEM SET " + name + " = " + SqlLiteral(value));
  }
  return out;
}

}  // namespace pgvigil
