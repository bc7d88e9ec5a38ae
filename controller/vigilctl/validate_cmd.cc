#include <iostream>

#include "common/spec_parser.h"
#include "controller/vigilctl/commands.h"

namespace pgvigil {

int CmdValidate(const CommandLine& cl) {
  std::string file = cl.Value("-f", cl.Value("--file"));
  if (file.empty() && !cl.Positional().empty()) file = cl.Positional().front();
  bool no_files = cl.Has("--no-file-check");
  if (!cl.Unknown().empty()) {
    std::cerr << "vigilctl validate: unknown option " << cl.Unknown().front() << "\n";
    return 2;
  }
  if (file.empty()) {
    std::cerr << "usage: vigilctl validate -f SPEC.yaml [--no-file-check]\n";
    return 2;
  }
  SpecParseOptions options;
  options.checkSecretFiles = !no_files;
  SpecLoad load = LoadSpecFile(file, options);
  if (!load.ok()) {
    std::cerr << load.ErrorText() << "\n";
    std::cerr << file << ": " << load.errors.size() << " problem"
              << (load.errors.size() == 1 ? "" : "s") << "\n";
    return 1;
  }
  const ClusterSpec& s = *load.spec;
  std::cout << file << ": valid: cluster '" << s.name << "', " << s.nodes.size() << " nodes"
            << (s.primary.empty() ? "" : ", primary " + s.primary)
            << (s.vip.enabled() ? ", VIP " + s.vip.address : ", no VIP") << ", proxy :"
            << s.proxy.port << ", watchdog " << (s.watchdog.enabled ? "on" : "off") << "\n";
  return 0;
}

}  // namespace pgvigil
