// vigilctl: the operator's command-line tool.
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/cli.h"
#include "controller/vigilctl/commands.h"
#include "controller/vigilctl/kube_target.h"

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
         "\nOn Kubernetes (run as kubectl-pgvigil, or with --kubeconfig FILE, --context NAME or\n"
         "-n NAMESPACE; the kubeconfig is --kubeconfig, else $KUBECONFIG, else ~/.kube/config):\n"
         "  status [CLUSTER] [-o table|json|yaml|pool_nodes]   the same output as on VMs\n"
         "  switchover [CLUSTER] --to INSTANCE                  planned change of primary\n"
         "  recover [CLUSTER] INSTANCE [--no-wait]              rebuild INSTANCE as a standby\n"
         "  fence [CLUSTER] INSTANCE|'*'                        detach it, stop its PostgreSQL\n"
         "  unfence [CLUSTER] INSTANCE|'*'                      let it rejoin as a standby\n"
         "  CLUSTER defaults to --cluster NAME, the instance's cluster (demo-1: demo), or the\n"
         "  namespace's only PostgresCluster.\n"
         "\n  --version, --help\n";
}

// Options that may come before the command word on Kubernetes
// (`kubectl pgvigil -n db status`), each with a value.
bool IsKubeGlobal(const std::string& a) {
  return a == "--kubeconfig" || a == "--context" || a == "-n" || a == "--namespace" || a == "--cluster";
}

bool IsKubeGlobalWithValue(const std::string& a) {
  for (const char* k : {"--kubeconfig=", "--context=", "--namespace=", "--cluster="})
    if (a.rfind(k, 0) == 0) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    Usage(std::cout);
    return argc < 2 ? 2 : 0;
  }
  // The command word is the first argument that is not a Kubernetes option
  // (or its value); the rest, in order, are the command's.
  int at = 1;
  while (at < argc && (IsKubeGlobal(argv[at]) || IsKubeGlobalWithValue(argv[at])))
    at += IsKubeGlobal(argv[at]) ? 2 : 1;
  if (at >= argc) {
    Usage(std::cerr);
    return 2;
  }
  std::string word = argv[at];
  if (word == "--version" || word == "version") {
    std::cout << "vigilctl " << PGVIGIL_VERSION << "\n";
    return 0;
  }
  if (word == "--help" || word == "-h") {
    Usage(std::cout);
    return 0;
  }
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i)
    if (i != at) args.emplace_back(argv[i]);
  CommandLine cl(args);
  static const std::set<std::string> kKubeWords = {"status", "switchover", "recover", "fence", "unfence",
                                                   "attach", "detach", "apply", "watchdog"};
  if (kKubeWords.count(word) && KubeMode(argv[0], cl)) return CmdKube(word, cl);
  auto it = Subcommands().find(word);
  if (it == Subcommands().end()) {
    std::cerr << "vigilctl: unknown command '" << word << "'\n";
    Usage(std::cerr);
    return 2;
  }
  return it->second.run(cl);
}
