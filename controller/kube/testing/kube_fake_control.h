// The control interface of the standalone kube-fake executable (a TEST
// STAND-IN for the Kubernetes API server, not Kubernetes; see kube_fake.h):
// what a harness may ask of the double besides the Kubernetes API itself.
// Served as plain HTTP on 127.0.0.1 only (kube_fake_main.cc); this file holds
// the request handling without any socket.
//
//   GET  /healthz                        200 "ok"
//   POST /down | /up                     the API server stops / resumes serving
//   POST /compact                        forced compaction: open watches get 410
//   POST /drop-watches                   open watch streams end abruptly
//   POST /latency?ms=N                   every API request waits N ms (0: none)
//   POST /fail?code=429|503&count=N&retry-after=S
//                                        the next N API requests answer code
//   POST /apply   body: YAML documents   each object created, or replaced when
//                                        it exists (like `kubectl apply` as an
//                                        administrator: no RBAC, schema checked;
//                                        stringData folded into data; kinds the
//                                        double does not serve are skipped)
#pragma once

#include <string>

#include "controller/kube/testing/kube_fake.h"

namespace pgvigil::kube::fake {

struct ControlReply {
  int code = 200;
  std::string body;  // text, one line per fact
};

// target: the request target with its query ("/fail?code=503&count=2").
ControlReply HandleControl(KubeFake* fake, const std::string& method, const std::string& target,
                           const std::string& body);

// The service account the chart runs the controller as.
inline constexpr char kControllerServiceAccount[] = "pgvigil-controller";

// The manifests file (the chart's rendered install.yaml): the text of its
// CustomResourceDefinition document and the rules of the Role/ClusterRole
// documents bound to kControllerServiceAccount (a role for users to bind,
// such as the vigilctl ClusterRole, is not the controller's). Errors name the file.
struct ManifestParts {
  std::string crdYaml;
  std::vector<PolicyRule> rules;
};
Result<ManifestParts> ReadManifests(const std::string& path);

}  // namespace pgvigil::kube::fake
