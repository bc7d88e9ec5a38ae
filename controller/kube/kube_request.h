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

// Whether a request this controller filed (recorded as accepted under
// `filed_term`) goes to the planner now, from status.lastRequest as read back
// from the API server (`recorded`: {id, term, ...}; null when absent) and the
// term this controller acts under now (0: not acting):
//  - kWait: the record holds another id (not written yet) and this controller
//    acts under the filing term, or does not act at the moment;
//  - kHandOff: the record is this one, under the term it was filed under, and
//    this controller still acts under that term;
//  - kDrop: the record is this one but under another term (another controller
//    recorded it again and carries it out), or this controller no longer acts
//    under the term it filed it under, read back or not (a controller deposed
//    in between must not run what its successor may have run: at most once).
struct HandOffDecision {
  enum class Kind { kWait, kHandOff, kDrop } kind = Kind::kWait;
  std::string reason;  // logged with the decision
  // status.lastRequest holds this controller's own record of it (its id under
  // the filing term). A record dropped before it was read back is not to be
  // written later under another term.
  bool recordHeld = false;
};
HandOffDecision DecideHandOff(const std::string& filed_id, uint64_t filed_term, const web::json::value& recorded,
                              uint64_t acting_term);

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
