// See config_check_output.h.
#include "sidecar/agent/config_check_output.h"

#include <sstream>

namespace pgvigil {

ConfigCheckVerdict ReadConfigCheckOutput(const std::string& output) {
  // The message follows its level ("LOG:  ", two spaces) after whatever
  // log_line_prefix printed.
  static const char* const kLevels[] = {"FATAL:  ", "ERROR:  ", "LOG:  ", "WARNING:  ", "HINT:  ", "DETAIL:  "};
  ConfigCheckVerdict v;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    size_t at = std::string::npos;
    std::string level;
    for (const char* l : kLevels) {
      size_t p = line.find(l);
      if (p != std::string::npos && p < at) {
        at = p;
        level = l;
      }
    }
    if (at == std::string::npos) continue;
    const std::string text = line.substr(at + level.size());
    if (level == "FATAL:  " && text.rfind("configuration file \"", 0) == 0 &&
        text.find("\" contains errors") != std::string::npos) {
      v.refused = true;
      continue;
    }
    if (text.rfind("skipping missing configuration file", 0) == 0) continue;
    const bool aside = level == "HINT:  " || level == "DETAIL:  ";
    v.reason += (v.reason.empty() ? "" : "; ") + (aside ? level.substr(0, level.size() - 1) : "") + text;
  }
  return v;
}

}  // namespace pgvigil
