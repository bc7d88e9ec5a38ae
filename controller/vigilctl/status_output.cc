// What vigilctl's status and recover print, whichever way the cluster status
// came (the controller's REST API on VMs, the PostgresCluster's status.report on
// Kubernetes): the same renderers, so the output is the same.
#include "controller/vigilctl/status_output.h"

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

namespace pgvigil {

void PrintYaml(const web::json::value& v, int indent, std::ostream& out) {
  std::string pad(indent, ' ');
  if (v.is_object()) {
    for (const auto& [k, child] : v.as_object()) {
      out << pad << k << ":";
      if ((child.is_object() && child.size() > 0) || (child.is_array() && child.size() > 0)) {
        out << "\n";
        PrintYaml(child, indent + 2, out);
      } else if (child.is_array()) {
        out << " []\n";
      } else if (child.is_object()) {
        out << " {}\n";
      } else {
        out << " " << child.serialize() << "\n";
      }
    }
  } else if (v.is_array()) {
    for (const auto& item : v.as_array()) {
      if (item.is_object() && item.size() > 0) {
        out << pad << "-\n";
        PrintYaml(item, indent + 2, out);
      } else {
        out << pad << "- " << item.serialize() << "\n";
      }
    }
  }
}

int PrintStatus(const web::json::value& body, const std::string& format, const std::string& where) {
  if (format == "json") {
    std::cout << body.serialize() << "\n";
    return 0;
  }
  if (format == "yaml") {
    PrintYaml(body, 0, std::cout);
    return 0;
  }
  if (format != "table" && format != "pool_nodes") {
    std::cerr << "vigilctl status: unknown output format '" << format << "' (table, json, yaml, pool_nodes)\n";
    return 2;
  }
  auto s = ClusterStatusFromJson(body);
  if (!s.ok()) {
    std::cerr << "vigilctl status: " << where << ": " << s.error() << "\n";
    return 1;
  }
  std::cout << (format == "pool_nodes" ? RenderPoolNodes(*s) : RenderStatusTable(*s));
  return 0;
}

int FollowRecovery(const std::string& node, const std::function<Result<ClusterStatus>()>& fetch) {
  bool tty = isatty(1);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(30);
  bool saw_operation = false;
  while (std::chrono::steady_clock::now() < deadline) {
    auto s = fetch();
    if (s.ok()) {
      const OperationStatus* op = nullptr;
      for (const auto& o : s->operations)
        if (o.node == node && (o.type == "rebuild" || o.type == "follow")) op = &o;
      const NodeStatus* ns = nullptr;
      for (const auto& n : s->nodes)
        if (n.name == node) ns = &n;
      if (op && op->state == "running") {
        saw_operation = true;
        int pct = op->percent < 0 ? 0 : static_cast<int>(op->percent);
        int bars = pct / 5;
        std::cout << (tty ? "\r" : "") << node << " [" << std::string(bars, '#')
                  << std::string(20 - bars, '.') << "] " << pct << "% " << op->step
                  << (tty ? "   " : "\n") << std::flush;
      } else if (op && op->state == "failed") {
        std::cout << "\n";
        std::cerr << "vigilctl recover: " << node << ": operation failed: " << op->error << "\n";
        return 1;
      } else if (ns && ns->replicationState == "streaming" && ns->state == "up" &&
                 (saw_operation || (op && op->state == "succeeded"))) {
        std::cout << (tty ? "\r" : "") << node << " [####################] 100% streaming from "
                  << (ns->upstream.empty() ? s->primary : ns->upstream) << "\n";
        return 0;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  std::cerr << "vigilctl recover: " << node << ": not streaming after 30 minutes\n";
  return 1;
}

}  // namespace pgvigil
