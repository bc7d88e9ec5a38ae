// A small command-line reader shared by the three binaries: "--flag", "--key VALUE",
// "--key=VALUE", "-k VALUE" and positional words. Value() marks a key as known;
// Unknown() lists options never asked for (call it after all Value/Has calls).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/logging.h"
#include "common/result.h"

namespace pgvigil {

class CommandLine {
 public:
  CommandLine(int argc, char** argv, int first = 1);
  explicit CommandLine(std::vector<std::string> args);

  bool Has(const std::string& flag) const;
  std::string Value(const std::string& key, const std::string& fallback = "") const;
  const std::vector<std::string>& Positional() const { return positional_; }
  std::vector<std::string> Unknown() const;

 private:
  void Parse();
  std::vector<std::string> args_;
  std::vector<std::pair<std::string, std::string>> options_;  // key, value ("" for flags)
  std::vector<std::string> positional_;
  mutable std::set<std::string> asked_;
};

// Reads --log-format, --log-level, --syslog-facility into *options and installs logging.
Status ConfigureLoggingFromFlags(const CommandLine& cl, LogOptions* options);

}  // namespace pgvigil
