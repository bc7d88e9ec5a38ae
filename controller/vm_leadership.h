// The VM implementations of the reconcile loop's seams (leadership.h):
// - watchdog mode: the controller beside the watchdog LEADER with quorum acts,
//   under the watchdog's term; the cluster state is the watchdog's
//   cluster-state register, read from the same GET /v1/watchdog and written
//   with PUT /v1/watchdog/register (durable on a majority);
// - standalone mode (one controller, no watchdog): always acts, under a term
//   taken from its start time; the state is a local JSON file.
// Blocking REST calls; reconcile thread only.
#pragma once

#include <functional>
#include <string>

#include "common/rest_client.h"
#include "controller/leadership.h"

namespace pgvigil {

// The local sidecar's client (the loop re-makes it when the spec moves it).
using SidecarClient = std::function<RestClient&()>;

class WatchdogLeadership : public LeadershipSource {
 public:
  explicit WatchdogLeadership(SidecarClient sidecar) : sidecar_(std::move(sidecar)) {}
  LeadershipLook Look(plan::TimeMs now) override;
  bool StillActing(uint64_t term) override;
  // The register document of the last Look (null: none).
  const web::json::value& registerDoc() const { return registerDoc_; }

 private:
  // GET /v1/watchdog: whether the local member leads with quorum.
  bool Read(plan::TimeMs now, LeadershipLook* look, web::json::value* register_doc);

  SidecarClient sidecar_;
  web::json::value registerDoc_;
};

class WatchdogRegisterStore : public StateStore {
 public:
  // `leadership` supplies the document read in this round; `sidecar` is the
  // client the register is written through.
  WatchdogRegisterStore(const WatchdogLeadership* leadership, SidecarClient sidecar)
      : leadership_(leadership), sidecar_(std::move(sidecar)) {}
  Result<plan::ClusterState> Load() override;
  Result<std::string> Save(const plan::ClusterState& state, uint64_t term) override;

 private:
  const WatchdogLeadership* leadership_;
  SidecarClient sidecar_;
};

class StandaloneLeadership : public LeadershipSource {
 public:
  StandaloneLeadership(uint64_t term, std::string node) : term_(term), node_(std::move(node)) {}
  LeadershipLook Look(plan::TimeMs now) override;
  bool StillActing(uint64_t) override { return true; }

 private:
  const uint64_t term_;
  const std::string node_;
};

class FileStateStore : public StateStore {
 public:
  explicit FileStateStore(std::string dir) : dir_(std::move(dir)) {}
  Result<plan::ClusterState> Load() override;
  Result<std::string> Save(const plan::ClusterState& state, uint64_t term) override;

 private:
  std::string Path() const { return dir_ + "/cluster-state.json"; }
  const std::string dir_;
};

}  // namespace pgvigil
