#include "common/cli.h"

namespace pgvigil {

CommandLine::CommandLine(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) args_.emplace_back(argv[i]);
  Parse();
}

CommandLine::CommandLine(std::vector<std::string> args) : args_(std::move(args)) { Parse(); }

// Options that never take a value, so "--flag positional" is read right.
static bool IsBareFlag(const std::string& a) {
  static const std::set<std::string> kFlags = {
      "--help", "-h", "--version", "--no-proxy", "--no-watchdog", "--standbys",
      "--wait", "--follow", "--watch", "--force", "-q", "--quiet", "--yes",
      "--no-file-check", "-v", "--verbose", "--no-wait"};
  return kFlags.count(a) > 0;
}

// "-x", "--x"; not "-" (stdin) nor a negative number such as "-5".
static bool LooksLikeOption(const std::string& a) {
  return a.size() > 1 && a[0] == '-' && !isdigit(static_cast<unsigned char>(a[1]));
}

void CommandLine::Parse() {
  for (size_t i = 0; i < args_.size(); ++i) {
    const std::string& a = args_[i];
    if (LooksLikeOption(a)) {
      auto eq = a.find('=');
      if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
        options_.emplace_back(a.substr(0, eq), a.substr(eq + 1));
      } else if (!IsBareFlag(a) && i + 1 < args_.size() && !LooksLikeOption(args_[i + 1])) {
        options_.emplace_back(a, args_[i + 1]);
        ++i;
      } else {
        options_.emplace_back(a, "");
      }
    } else {
      positional_.push_back(a);
    }
  }
}

bool CommandLine::Has(const std::string& flag) const {
  asked_.insert(flag);
  for (const auto& [k, v] : options_)
    if (k == flag) return true;
  return false;
}

std::string CommandLine::Value(const std::string& key, const std::string& fallback) const {
  asked_.insert(key);
  for (const auto& [k, v] : options_)
    if (k == key) return v;
  return fallback;
}

std::vector<std::string> CommandLine::Unknown() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : options_)
    if (!asked_.count(k)) out.push_back(k);
  return out;
}

Status ConfigureLoggingFromFlags(const CommandLine& cl, LogOptions* options) {
  auto format = ParseLogFormat(cl.Value("--log-format", "text"));
  if (!format.ok()) return format.status();
  options->format = *format;
  options->level = cl.Value("--log-level", options->level);
  options->syslogFacility = cl.Value("--syslog-facility", options->syslogFacility);
  return InitLogging(*options);
}

}  // namespace pgvigil
