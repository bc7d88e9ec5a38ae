// vigilctl: the operator's command-line tool.
#include <iostream>
#include <map>
#include <string>

#include "common/cli.h"
#include "controller/vigilctl/commands.h"

using namespace pgvigil;

namespace {

struct Subcommand {
  int (*run)(const CommandLine&);
  const char* help;
};

const std::map<std::string, Subcommand>& Subcommands() {
  static const std::map<std::string, Subcommand> kCommands = {
      {"validate", {CmdValidate, "validate -f SPEC.yaml      check a cluster spec, print every problem"}},
      {"encrypt-password",
       {CmdEncryptPassword, "encrypt-password -k KEYFILE -u USER [-f POOL_PASSWD]   add an AES entry"}},
      {"watchdog", {CmdWatchdog, "watchdog [--sidecar URL] [-o json]   watchdog members and leader"}},
  };
  return kCommands;
}

void Usage(std::ostream& out) {
  out << "usage: vigilctl COMMAND [options]\n\ncommands:\n";
  for (const auto& [name, c] : Subcommands()) out << "  " << c.help << "\n";
  out << "\n  --version, --help\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    Usage(std::cout);
    return argc < 2 ? 2 : 0;
  }
  std::string word = argv[1];
  if (word == "--version" || word == "version") {
    std::cout << "vigilctl " << PGVIGIL_VERSION << "\n";
    return 0;
  }
  auto it = Subcommands().find(word);
  if (it == Subcommands().end()) {
    std::cerr << "vigilctl: unknown command '" << word << "'\n";
    Usage(std::cerr);
    return 2;
  }
  CommandLine cl(argc, argv, 2);
  return it->second.run(cl);
}
