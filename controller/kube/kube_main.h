// pgvigil-controller --kubernetes: the process around KubeController (Lease
// elector, client from the in-cluster configuration or --kubeconfig), until
// SIGTERM/SIGINT. Called by controller/main.cc after logging is configured.
#pragma once

#include "common/cli.h"

namespace pgvigil::kube {

extern const char* kKubernetesUsage;
int RunKubernetesController(const CommandLine& cl);

}  // namespace pgvigil::kube
