// WatchdogService: the watchdog component. One I/O thread owns the Election, the
// socket and the timer; everything else reads a snapshot under mu_. Stop()
// resigns (VIP down first, then a Resign datagram) before the thread ends.
// Membership changes (ctx.membership, PUT /v1/node/spec) are carried out on the
// I/O thread (ApplyMembers): member count and quorum, peers, replay windows,
// write-lease bookkeeping and the fingerprint all change together.
#pragma once

#include <array>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <boost/asio.hpp>

#include "sidecar/component.h"
#include "sidecar/watchdog/contact_lease.h"
#include "sidecar/watchdog/election.h"
#include "sidecar/watchdog/peer_addresses.h"
#include "sidecar/watchdog/replay_guard.h"
#include "sidecar/watchdog/state_file.h"
#include "sidecar/watchdog/vip_control.h"
#include "sidecar/watchdog/watchdog_api.h"
#include "sidecar/watchdog/watchdog_metrics.h"

namespace pgvigil {
namespace watchdog {

class WatchdogService : public Component, public WatchdogApi {
 public:
  // resolve: how peers' host names are looked up (null: the system resolver).
  WatchdogService(SidecarContext& ctx, HostResolver resolve);
  ~WatchdogService() override;

  const char* name() const override { return "watchdog"; }
  Status Start() override;
  void Stop() override;
  web::json::value Summary() const override;

  WatchdogDetail Detail() const override;
  Leadership GetLeadership() const override;
  std::vector<BackendVerdict> BackendConsensus() const override;
  RegisterValue ReadRegister() const override;
  Result<uint64_t> WriteRegister(const web::json::value& doc,
                                 std::chrono::milliseconds timeout) override;
  WriteLease GetWriteLease() const override;

 private:
  int64_t NowMs() const;
  void StartReceive();
  void OnDatagram(size_t size);
  void ScheduleTick();
  // Asks for an immediate health check when a peer's heartbeat sees a backend
  // up/down otherwise than this sidecar does.
  void CheckWhereViewsDiffer(const std::vector<HealthVote>& peer);
  // This sidecar's vote on a backend from its health view (unknown until checked).
  HealthStatus LocalVote(size_t backend) const;
  void Tick();
  void Process(Actions& actions);
  void SendMessage(int to, const WireMessage& m);
  void LogEvent(const Action& a);
  void RefreshSnapshot();
  void NoteDrop(DropReason reason, const std::string& from);
  // Resolver thread: looks up the peers that are due (peer_addresses.h).
  void ResolverLoop();
  // I/O thread: the membership is now `nodes`.
  void ApplyMembers(const std::shared_ptr<const NodeList>& nodes, uint64_t generation);
  std::vector<PeerAddresses::Peer> PeersOf(const NodeList& nodes) const;

  SidecarContext& ctx_;
  const HostResolver resolve_;
  const int self_;
  ElectionConfig config_;
  WatchdogMetrics metrics_;
  VipControl vip_;
  const std::chrono::steady_clock::time_point epoch_ = std::chrono::steady_clock::now();

  // I/O thread only (after Start).
  boost::asio::io_context io_;
  boost::asio::ip::udp::socket socket_{io_};
  boost::asio::steady_timer timer_{io_};
  std::array<uint8_t, 2048> buffer_{};
  boost::asio::ip::udp::endpoint sender_;
  std::unique_ptr<Election> election_;
  std::unique_ptr<SequenceCounter> seq_;
  std::unique_ptr<ReplayGuard> replay_;
  std::unique_ptr<ContactTracker> contact_;
  StoredState stored_;
  std::string key_;
  ClusterSpec spec_;        // ctx.spec with the members in use (I/O thread after Start)
  MembershipPrints prints_;  // of spec_.nodes
  int membershipSub_ = 0;
  int lastLeader_ = -1;
  std::map<DropReason, int64_t> lastDropLog_;
  int64_t lastSendErrorLog_ = -1000000;
  std::thread thread_;
  bool started_ = false;

  // Peer addresses: written by the resolver thread, read by the I/O thread.
  mutable std::mutex peersMu_;
  std::condition_variable resolverWake_;
  std::unique_ptr<PeerAddresses> peers_;  // guarded by peersMu_ (set in Start, replaced by ApplyMembers)
  std::vector<std::string> peerNames_;    // guarded by peersMu_: member names, for the resolver's logs
  bool resolverStop_ = false;             // guarded by peersMu_
  std::thread resolverThread_;

  // Snapshot for readers.
  mutable std::mutex mu_;
  std::condition_variable changed_;
  WatchdogDetail detail_;            // guarded by mu_
  WatchdogSummary summary_;          // guarded by mu_
  Leadership leadership_;            // guarded by mu_
  std::vector<BackendVerdict> verdicts_;  // guarded by mu_
  RegisterValue register_;           // guarded by mu_
  uint64_t durableVersion_ = 0;      // guarded by mu_
  bool stopped_ = false;             // guarded by mu_
  WriteLease writeLease_;            // guarded by mu_
};

}  // namespace watchdog
}  // namespace pgvigil
