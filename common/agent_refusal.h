// The sidecar agent's refusal of a request it understood but will not carry
// out (HTTP 409; 400 for a term out of range): one body for every refusal,
//   {"error": "<what and why, for a person>", "reason": "<code>",
//    "field"?: "<request field at fault>", "term"?: <highest term seen>,
//    "running"?: "<operation id>"}.
// The agent writes it (sidecar/agent/agent_component.cc, peer_handlers.cc);
// the controller acts on `reason` (kube/register_mirror.cc: a stale term ends
// the retries; kube/kube_actuator_spec.cc: a node not a member is not asked
// again) and shows `error` (common/rest_client.h DescribeFailure).
// Reading is tolerant (common/json_fields.h): a body that is not an object, or
// a field of another type, reads as that field's default and is named in
// `notes`; an unknown reason is kept as it came. Pure.
#pragma once

#include <cpprest/json.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pgvigil {

namespace refusal {
inline constexpr const char kStaleTerm[] = "stale_term";            // term older than the highest seen
inline constexpr const char kTermOutOfRange[] = "term_out_of_range";  // term too far ahead (400)
inline constexpr const char kSelfFenced[] = "self_fenced";          // the node fenced itself in a newer term
inline constexpr const char kPrimaryNotFenced[] = "running_primary_not_fenced";
inline constexpr const char kBusy[] = "busy";                       // another operation still runs
inline constexpr const char kNotAMember[] = "not_a_member";          // spec push not listing this node
inline constexpr const char kRegisterRefused[] = "register_refused";
inline constexpr const char kRoutingRefused[] = "routing_refused";
}  // namespace refusal

struct AgentRefusal {
  std::string error;
  std::string reason;
  std::optional<std::string> field;
  std::optional<uint64_t> term;
  std::optional<std::string> running;
};

web::json::value ToJson(const AgentRefusal& r);
AgentRefusal AgentRefusalFromJson(const web::json::value& v, std::vector<std::string>* notes);
bool operator==(const AgentRefusal& a, const AgentRefusal& b);

}  // namespace pgvigil
