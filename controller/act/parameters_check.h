// A spec's postgres.parameters checked by a sidecar before the spec is taken
// into use: PUT /v1/node/spec with "check": true (common/node_spec_push.h),
// which the sidecar answers against its running PostgreSQL's pg_settings
// without storing or applying anything. One call for both modes: Kubernetes
// before NAME-config is written (kube_actuator_spec.cc), VMs before PUT
// /v1/spec stores the spec (Reconciler::CheckParameters, controller_api.cc).
// The sidecars are asked one after another, in the order given, until one
// answers the check; one that cannot (unreachable, its PostgreSQL not
// running, an older sidecar, a newer term) is passed over and named in
// `notChecked`. Blocking (REST calls); the caller's thread.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/node_spec_push.h"
#include "common/rest_client.h"
#include "common/spec.h"

namespace pgvigil {

struct ParametersCheck {
  enum class Outcome {
    kTaken,      // `node` says its PostgreSQL would take them
    kRefused,    // `node` says it would not: `field` and `reason` say which and why
    kUnchecked,  // no sidecar could check (notChecked says why for each asked)
  };
  Outcome outcome = Outcome::kUnchecked;
  std::string node;    // the sidecar that answered the check
  std::string field;   // kRefused: "spec.postgres.parameters.work_mem"
  std::string reason;  // the sidecar's words
  std::vector<std::pair<std::string, std::string>> notChecked;  // node, why it did not check

  bool refused() const { return outcome == Outcome::kRefused; }
  // kRefused: "spec.postgres.parameters.work_mem: <reason> (checked by node1)".
  std::string RefusalLine() const { return field + ": " + reason + " (checked by " + node + ")"; }
  // "node0: HTTP 503 ...; node2: ..." ("no sidecar reachable" when none was asked).
  std::string NotCheckedText() const;
};

// The sidecars to ask: `primary` first when it is a member (its server is the
// one most surely running), then the other members in spec order; only those
// `reachable` says answer. Pure.
std::vector<std::string> ParameterCheckOrder(const ClusterSpec& spec, const std::string& primary,
                                             const std::function<bool(const std::string&)>& reachable);

// Sends `push` (its `check` set here) to each of `nodes` through `sidecar`
// until one answers the check.
ParametersCheck AskSidecarsToCheck(NodeSpecPush push, const std::vector<std::string>& nodes,
                                   const std::function<RestClient&(const std::string&)>& sidecar);

}  // namespace pgvigil
