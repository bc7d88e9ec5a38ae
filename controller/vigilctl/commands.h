// vigilctl subcommands. Each takes the command line after the subcommand word and
// returns the process exit code (0 ok, 1 failure, 2 usage error). One file each.
#pragma once

#include "common/cli.h"

namespace pgvigil {

int CmdValidate(const CommandLine& cl);         // validate_cmd.cc
int CmdEncryptPassword(const CommandLine& cl);  // encrypt_password_cmd.cc (proxy work)
int CmdWatchdog(const CommandLine& cl);         // watchdog_cmd.cc (watchdog work)
int CmdImportPgpool(const CommandLine& cl);     // import_pgpool_cmd.cc (pgpool/ holds the mapping)
// controller_cmds.cc: the controller's REST API.
int CmdStatus(const CommandLine& cl);
int CmdApply(const CommandLine& cl);
int CmdSwitchover(const CommandLine& cl);
int CmdRecover(const CommandLine& cl);
int CmdAttach(const CommandLine& cl);
int CmdDetach(const CommandLine& cl);
// kube_cmds.cc: status, switchover, recover, fence, unfence on Kubernetes
// (kube_target.h); other words answer that they are not available there.
int CmdKube(const std::string& word, const CommandLine& cl);

}  // namespace pgvigil
