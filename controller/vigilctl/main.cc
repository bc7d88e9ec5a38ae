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
      {"import-pgpool",
       {CmdImportPgpool, "import-pgpool -f pgpool.conf [--hba F] [--pool-passwd F] [-o SPEC.yaml]   spec from Pgpool-II"}},
      {"watchdog", {CmdWatchdog, "watchdog [--sidecar URL] [-o json]   watchdog members and leader"}},
      {"status", {CmdStatus, "status [-o table|json|yaml|pool_nodes]   cluster phase, nodes, watchdog"}},
      {"apply", {CmdApply, "apply -f SPEC.yaml          validate, then hand the spec to the controller"}},
      {"switchover", {CmdSwitchover, "switchover --to NODE       planned change of primary"}},
      {"recover", {CmdRecover, "recover NODE [--no-wait]   rebuild NODE as a standby (progress bar)"}},
      {"attach", {CmdAttach, "attach NODE                 route to NODE again"}},
      {"detach", {CmdDetach, "detach NODE                 take NODE out of routing"}},
  };
  return kCommands;
}

void Usage(std::ostream& out) {
  out << "usage: vigilctl COMMAND [options]\n\ncommands:\n";
  for (const auto& [name, c] : Subcommands()) out << "  " << c.help << "\n";
  out << "\ncontroller commands take --controller URL (default http://127.0.0.1:9900, or\n"
         "PGVIGIL_CONTROLLER) and --token-file FILE (or PGVIGIL_TOKEN_FILE) for changes.\n"
         "\n  --version, --help\n";
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
