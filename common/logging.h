// Process-wide logging setup (spdlog). Components log with spdlog::info(...) etc.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

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

// A client-supplied string (request path, header, name) made safe for one log
// line: bytes below 0x20, 0x7f and the backslash are escaped (\n \r \t \\ \xHH),
// so a newline cannot forge a second log line; longer than max_bytes, it is cut
// and "...(N bytes)" appended.
std::string LogEscape(std::string_view s, size_t max_bytes = 256);

}  // namespace pgvigil
