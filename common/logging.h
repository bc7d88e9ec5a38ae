// Process-wide logging setup (spdlog). Components log with spdlog::info(...) etc.
#pragma once

#include <string>

#include "common/result.h"

namespace pgvigil {

enum class LogFormat { kText, kJson, kSyslog };

struct LogOptions {
  LogFormat format = LogFormat::kText;
  std::string level = "info";          // trace|debug|info|warn|error|critical|off
  std::string syslogFacility = "LOCAL1";  // LOCAL0..7, DAEMON, USER
  std::string ident = "pgvigil";       // program name in syslog / json
};

// Parses "text" | "json" | "syslog".
Result<LogFormat> ParseLogFormat(const std::string& text);
// Installs the default logger. Safe to call again (replaces it).
Status InitLogging(const LogOptions& options);

}  // namespace pgvigil
