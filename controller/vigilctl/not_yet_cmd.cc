// Subcommands whose implementation has not landed yet answer clearly instead of
// pretending. Each is defined weak so the real file replaces it at link time.
#include <iostream>

#include "controller/vigilctl/commands.h"

namespace pgvigil {

static int NotYet(const char* name) {
  std::cerr << "vigilctl " << name << ": not available in this build yet\n";
  return 1;
}

__attribute__((weak)) int CmdEncryptPassword(const CommandLine&) { return NotYet("encrypt-password"); }
__attribute__((weak)) int CmdWatchdog(const CommandLine&) { return NotYet("watchdog"); }

}  // namespace pgvigil
