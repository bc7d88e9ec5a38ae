// The cluster's members as this sidecar runs with them now: spec.nodes from the
// start-up spec, replaced live by PUT /v1/node/spec (KUBERNETES.md §4.3, §4.4;
// only the membership changes live, the rest of the spec is fixed for the
// process's life and read from SidecarContext::spec).
// Readers take a snapshot (an immutable list shared by pointer) and keep it for
// as long as they use it; a change replaces the list and then calls the
// subscribers, in the order they subscribed, on the changing thread.
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/spec.h"

namespace pgvigil {

using NodeList = std::vector<NodeSpec>;

class LiveMembership {
 public:
  using Listener = std::function<void(const std::shared_ptr<const NodeList>& nodes, uint64_t generation)>;

  LiveMembership(NodeList nodes, uint64_t generation);
  LiveMembership(const LiveMembership&) = delete;
  LiveMembership& operator=(const LiveMembership&) = delete;

  std::shared_ptr<const NodeList> Nodes() const;
  uint64_t generation() const;
  // The node named so in the current list (a copy); nullopt when not a member.
  std::optional<NodeSpec> Find(const std::string& name) const;
  // `spec` with the current members (for code that reads a whole ClusterSpec).
  ClusterSpec With(const ClusterSpec& spec) const;

  // Replaces the list (generation recorded as given) and tells the listeners.
  // Changes are serialised: listeners see them one at a time, in order.
  void Replace(NodeList nodes, uint64_t generation);
  // Records a newer generation whose members are the same (nobody is told).
  void SetGeneration(uint64_t generation);
  // Returns an id for Unsubscribe, which waits for a change in progress.
  int Subscribe(Listener l);
  void Unsubscribe(int id);

 private:
  std::mutex changeMu_;  // serialises Replace (held while listeners run)
  mutable std::mutex mu_;
  std::shared_ptr<const NodeList> nodes_;  // guarded by mu_
  uint64_t generation_ = 0;                // guarded by mu_
  std::vector<std::pair<int, Listener>> listeners_;  // guarded by mu_
  int nextId_ = 1;                                   // guarded by mu_
};

}  // namespace pgvigil
