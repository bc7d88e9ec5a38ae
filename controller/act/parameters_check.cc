// See parameters_check.h.
#include "controller/act/parameters_check.h"

namespace pgvigil {

std::string ParametersCheck::NotCheckedText() const {
  if (notChecked.empty()) return "no sidecar reachable";
  std::string out;
  for (const auto& [node, why] : notChecked) out += (out.empty() ? "" : "; ") + node + ": " + why;
  return out;
}

std::vector<std::string> ParameterCheckOrder(const ClusterSpec& spec, const std::string& primary,
                                             const std::function<bool(const std::string&)>& reachable) {
  std::vector<std::string> order;
  if (!primary.empty() && spec.FindNode(primary) && reachable(primary)) order.push_back(primary);
  for (const auto& n : spec.nodes)
    if (n.name != primary && reachable(n.name)) order.push_back(n.name);
  return order;
}

ParametersCheck AskSidecarsToCheck(NodeSpecPush push, const std::vector<std::string>& nodes,
                                   const std::function<RestClient&(const std::string&)>& sidecar) {
  push.check = true;
  const web::json::value body = EncodeSpecPush(push);
  ParametersCheck out;
  for (const std::string& node : nodes) {
    auto r = sidecar(node).Put("/v1/node/spec", body);
    if (!r.ok()) {
      out.notChecked.emplace_back(node, r.error());
      continue;
    }
    if (r->status != 200) {
      out.notChecked.emplace_back(node, "HTTP " + std::to_string(r->status) + " " + DescribeFailure(*r));
      continue;
    }
    auto reply = DecodeSpecPushReply(r->body);
    if (!reply.ok()) {
      out.notChecked.emplace_back(node, "an answer that does not read: " + reply.error());
      continue;
    }
    out.node = node;
    out.reason = reply->reason;
    if (reply->failed()) {
      out.outcome = ParametersCheck::Outcome::kRefused;
      out.field = reply->field;
    } else {
      out.outcome = ParametersCheck::Outcome::kTaken;
    }
    return out;
  }
  return out;
}

}  // namespace pgvigil
