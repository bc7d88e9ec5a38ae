// Operator requests on Kubernetes (`vigilctl --kubeconfig ... switchover|recover`,
// `kubectl pgvigil ...`), and the manual fence annotation as vigilctl edits it.
// Pure: no I/O.
//
// How a request travels (nothing but the API server between vigilctl and the
// controller):
//  - vigilctl writes the annotation pgvigil.io/request on the PostgresCluster:
//    {"id": "<random>", "action": "switchover"|"recover", "instance": "demo-1",
//     "requestedAt": "<RFC 3339>"}; a newer request replaces an older one;
//  - the acting controller (the elector leads and its term is durable in the
//    status) records the outcome of a request whose id is not yet
//    status.lastRequest.id in status.lastRequest {id, action, instance, result
//    (Accepted|Refused), message, term, time} by the status compare-and-swap
//    under that term, and hands an accepted one to the cluster's Reconciler
//    (the same `Requests` the VM REST API fills) only once it reads that record
//    back. The annotation stays (the controller's role may not write the spec
//    or metadata); the id in the status says it was consumed, so a request is
//    run at most once, by the controller that recorded it;
//  - vigilctl waits for status.lastRequest.id to be its id and prints the outcome.
#pragma once

#include <string>
#include <vector>

#include <cpprest/json.h>

#include "common/result.h"

namespace pgvigil::kube {

inline constexpr char kRequestAnnotation[] = "pgvigil.io/request";

struct OperatorRequest {
  std::string id;
  std::string action;    // switchover | recover
  std::string instance;  // switchover: the target; recover: the instance rebuilt
  std::string requestedAt;
};

// The annotation's text for `r` (compact JSON).
std::string EncodeRequest(const OperatorRequest& r);

// What the controller does with the annotation's text, given the id recorded
// in status.lastRequest and the cluster's instances.
struct RequestDecision {
  enum class Kind { kNone, kFile, kRefuse } kind = Kind::kNone;
  OperatorRequest request;  // kFile, and kRefuse where the text told it
  std::string reason;       // why (logged; the message recorded when refused)
};
RequestDecision DecideRequest(const std::string& annotation, const std::string& handled_id,
                              const std::vector<std::string>& instances);

// status.lastRequest for a request filed (accepted) or refused.
web::json::value RequestRecord(const OperatorRequest& r, bool accepted, const std::string& message, uint64_t term,
                               const std::string& time);

// The manual fence annotation after `vigilctl fence|unfence INSTANCE` ("*": every
// instance), from its current text (ParseFencedInstances' format). "" means
// remove the annotation (nothing fenced). Errors name the instance or the
// annotation; `*changed` is false when the annotation already says so.
Result<std::string> FenceAnnotationAfter(const std::string& current, bool fence, const std::string& instance,
                                         const std::vector<std::string>& instances, bool* changed);

// The cluster an instance name belongs to ("demo-1" -> "demo"); "" when the
// name does not end in "-<ordinal>".
std::string ClusterOfInstance(const std::string& instance);

// "demo-0" ... "demo-(n-1)".
std::vector<std::string> InstanceNames(const std::string& cluster, int instances);

}  // namespace pgvigil::kube
