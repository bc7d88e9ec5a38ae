#include "sidecar/live_membership.h"

namespace pgvigil {

LiveMembership::LiveMembership(NodeList nodes, uint64_t generation)
    : nodes_(std::make_shared<const NodeList>(std::move(nodes))), generation_(generation) {}

std::shared_ptr<const NodeList> LiveMembership::Nodes() const {
  std::lock_guard<std::mutex> l(mu_);
  return nodes_;
}

uint64_t LiveMembership::generation() const {
  std::lock_guard<std::mutex> l(mu_);
  return generation_;
}

std::optional<NodeSpec> LiveMembership::Find(const std::string& name) const {
  auto nodes = Nodes();
  for (const auto& n : *nodes)
    if (n.name == name) return n;
  return std::nullopt;
}

ClusterSpec LiveMembership::With(const ClusterSpec& spec) const {
  ClusterSpec s = spec;
  s.nodes = *Nodes();
  return s;
}

void LiveMembership::Replace(NodeList nodes, uint64_t generation) {
  std::lock_guard<std::mutex> change(changeMu_);
  auto list = std::make_shared<const NodeList>(std::move(nodes));
  std::vector<std::pair<int, Listener>> listeners;
  {
    std::lock_guard<std::mutex> l(mu_);
    nodes_ = list;
    generation_ = generation;
    listeners = listeners_;
  }
  for (const auto& f : listeners) f.second(list, generation);
}

void LiveMembership::SetGeneration(uint64_t generation) {
  std::lock_guard<std::mutex> l(mu_);
  generation_ = generation;
}

int LiveMembership::Subscribe(Listener f) {
  std::lock_guard<std::mutex> l(mu_);
  listeners_.emplace_back(nextId_, std::move(f));
  return nextId_++;
}

void LiveMembership::Unsubscribe(int id) {
  std::lock_guard<std::mutex> change(changeMu_);
  std::lock_guard<std::mutex> l(mu_);
  for (auto it = listeners_.begin(); it != listeners_.end(); ++it) {
    if (it->first == id) {
      listeners_.erase(it);
      return;
    }
  }
}

}  // namespace pgvigil
