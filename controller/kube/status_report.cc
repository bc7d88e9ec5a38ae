#include "controller/kube/status_report.h"

#include "controller/plan/observation.h"

namespace pgvigil::kube {

using web::json::value;

bool IsReady(const NodeStatus& n) {
  return n.pgStatus == "up" && (n.role == "primary" || n.replicationState == "streaming");
}

std::vector<std::string> StandbysNotStreaming(const ClusterStatus& s) {
  std::vector<std::string> out;
  if (s.primary.empty()) return out;
  for (const auto& n : s.nodes) {
    if (n.name == s.primary || n.state == "fenced" || n.state == "detached") continue;
    if (!plan::StreamsFromPrimary(n.pgStatus == "up", n.upstream, s.primary, n.replicationState))
      out.push_back(n.name);
  }
  return out;
}

value InstancesReportedStateJson(const ClusterStatus& s) {
  value out = value::object();
  for (const auto& n : s.nodes) {
    value i = value::object();
    i["role"] = value::string(n.state == "fenced" || n.state == "detached" ? n.state : n.role);
    i["timeline"] = value::number(n.timeline);
    if (!n.lsn.empty()) i["lsn"] = value::string(n.lsn);
    if (n.lagBytes >= 0) i["lagBytes"] = value::number(n.lagBytes);
    i["ready"] = value::boolean(IsReady(n));
    out[n.name] = i;
  }
  return out;
}

value LastEventsJson(const std::vector<pgvigil::EventRecord>& events) {
  const size_t from = events.size() > kMaxLastEvents ? events.size() - kMaxLastEvents : 0;
  value out = value::array(events.size() - from);
  for (size_t i = from; i < events.size(); ++i) {
    value e = value::object();
    e["time"] = value::string(events[i].time);
    e["action"] = value::string(events[i].action);
    e["instance"] = value::string(events[i].node);
    e["reason"] = value::string(events[i].reason);
    out[i - from] = e;
  }
  return out;
}

}  // namespace pgvigil::kube
