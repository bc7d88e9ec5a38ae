#include "sidecar/watchdog/watchdog_service.h"

#include <ctime>
#include <filesystem>
#include <future>
#include <random>
#include <set>

#include <spdlog/spdlog.h>

#include "common/files.h"
#include "sidecar/watchdog/detail_json.h"
#include "sidecar/watchdog/watchdog_component.h"

namespace pgvigil {
namespace watchdog {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

int IndexOf(const ClusterSpec& spec, const std::string& name) {
  for (size_t i = 0; i < spec.nodes.size(); ++i)
    if (spec.nodes[i].name == name) return static_cast<int>(i);
  return -1;
}

constexpr int64_t kDropLogEveryMs = 5000;

}  // namespace

WatchdogService::WatchdogService(SidecarContext& ctx, HostResolver resolve)
    : ctx_(ctx),
      resolve_(resolve ? std::move(resolve) : HostResolver(ResolveWithSystem)),
      self_(IndexOf(ctx.LiveSpec(), ctx.nodeName)),
      metrics_(*ctx.metrics),
      vip_(ctx.spec.vip, VipControl::Hooks{[this] { metrics_.vipUp.Inc(); },
                                           [this] { metrics_.vipDown.Inc(); },
                                           [this] { metrics_.vipFailures.Inc(); }}) {
  config_.self = self_ < 0 ? 0 : self_;
  spec_ = ctx.LiveSpec();
  config_.members = static_cast<int>(spec_.nodes.size());
  config_.heartbeatIntervalMs = ctx.spec.watchdog.heartbeatInterval.count();
  config_.deadTimeMs = ctx.spec.watchdog.deadTime.count();
}

WatchdogService::~WatchdogService() { Stop(); }

int64_t WatchdogService::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               epoch_)
      .count();
}

Status WatchdogService::Start() {
  const ClusterSpec& spec = spec_;
  if (self_ < 0) return Status::Error("watchdog: node '" + ctx_.nodeName + "' is not in the spec");
  if (spec.nodes.size() > 254) return Status::Error("watchdog: at most 254 members");
  if (config_.heartbeatIntervalMs < 10 || config_.deadTimeMs <= 2 * config_.heartbeatIntervalMs)
    return Status::Error("watchdog: need heartbeatInterval >= 10ms and deadTime > 2 x heartbeatInterval");
  if (spec.watchdog.authKeyFile.empty())
    return Status::Error("watchdog: spec.watchdog.authKeyFile is required");
  auto key = ReadSecretFile(spec.watchdog.authKeyFile);
  if (!key.ok()) return key.status().Context("watchdog: reading the auth key");
  if (key->empty()) return Status::Error("watchdog: auth key file " + spec.watchdog.authKeyFile + " is empty");
  key_ = *key;

  std::error_code fs_err;
  std::filesystem::create_directories(ctx_.stateDir, fs_err);
  if (fs_err) return Status::Error("watchdog: creating " + ctx_.stateDir + ": " + fs_err.message());
  auto loaded = LoadState(ctx_.stateDir);
  if (!loaded.ok()) return loaded.status().Context("watchdog");
  stored_ = *loaded;
  stored_.incarnation = NextIncarnation(stored_.incarnation, static_cast<uint64_t>(std::time(nullptr)));
  if (Status s = SaveState(ctx_.stateDir, stored_); !s.ok()) return s.Context("watchdog: saving state");

  std::vector<std::string> names;
  for (const auto& n : spec.nodes) names.push_back(n.name);
  prints_ = PrintsOf(names);
  boost::system::error_code ec;
  const int port = spec.HeartbeatPort(spec.nodes[self_]);
  // Dual stack: one IPv6 socket on [::] also takes IPv4 (as mapped addresses), so
  // peers may resolve to either family; IPv4 only where IPv6 is off in the kernel.
  bool ipv6 = true;
  socket_.open(udp::v6(), ec);
  if (!ec) socket_.set_option(asio::ip::v6_only(false), ec);
  if (!ec) socket_.bind(udp::endpoint(asio::ip::address_v6::any(), static_cast<unsigned short>(port)), ec);
  // Only a kernel without IPv6 falls back; a port in use is an error either way (a
  // fallback then would leave this member IPv4-only once the port is free again).
  if (ec && ec != asio::error::address_in_use) {
    spdlog::info("watchdog: no dual-stack UDP socket on [::]:{} ({}); using IPv4 only", port, ec.message());
    boost::system::error_code ignored;
    socket_.close(ignored);
    ec.clear();
    ipv6 = false;
    socket_.open(udp::v4(), ec);
    if (!ec) socket_.bind(udp::endpoint(asio::ip::address_v4::any(), static_cast<unsigned short>(port)), ec);
  }
  if (ec) return Status::Error("watchdog: binding UDP port " + std::to_string(port) + ": " + ec.message());
  // Peers are found by name, on the resolver thread: a name that does not resolve
  // yet is an unknown member, not a reason to fail (peer_addresses.h).
  peers_ = std::make_unique<PeerAddresses>(PeersOf(spec.nodes), self_, ipv6);
  peerNames_ = names;
  resolverThread_ = std::thread([this] { ResolverLoop(); });

  vip_.RemoveStale();
  election_ = std::make_unique<Election>(config_, stored_.election, std::random_device{}(), NowMs());
  seq_ = std::make_unique<SequenceCounter>(stored_.incarnation);
  replay_ = std::make_unique<ReplayGuard>(spec.nodes.size());
  contact_ = std::make_unique<ContactTracker>(self_, config_.members, stored_.incarnation,
                                              config_.LeaseMs(), NowMs(), config_.PromiseMs());
  RefreshSnapshot();
  StartReceive();
  ScheduleTick();
  if (ctx_.membership)
    membershipSub_ = ctx_.membership->Subscribe(
        [this](const std::shared_ptr<const NodeList>& nodes, uint64_t generation) {
          asio::post(io_, [this, nodes, generation] { ApplyMembers(nodes, generation); });
        });
  // Read before the event loop runs: from then on stored_ is its thread's (a
  // datagram can persist a new term at once; TSan, agent_self_fence_test).
  const uint64_t startTerm = stored_.election.term;
  thread_ = std::thread([this] {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        spdlog::critical("watchdog: event loop error: {}", e.what());
      }
    }
  });
  started_ = true;
  spdlog::info("watchdog: member {} ({} of {}), term {}, heartbeat udp/{} every {}ms, dead time {}ms, "
               "lease {}ms, quorum {}",
               ctx_.nodeName, self_ + 1, config_.members, startTerm, port,
               config_.heartbeatIntervalMs, config_.deadTimeMs, config_.LeaseMs(), config_.Majority());
  return Status::Ok();
}

void WatchdogService::Stop() {
  if (!started_) return;
  started_ = false;
  if (membershipSub_) ctx_.membership->Unsubscribe(membershipSub_);
  membershipSub_ = 0;
  auto done = std::make_shared<std::promise<void>>();
  asio::post(io_, [this, done] {
    Actions out;
    election_->Resign(NowMs(), &out);
    Process(out);
    RefreshSnapshot();
    done->set_value();
  });
  if (done->get_future().wait_for(std::chrono::seconds(10)) != std::future_status::ready)
    spdlog::error("watchdog: resigning did not finish in 10s");
  io_.stop();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard<std::mutex> l(peersMu_);
    resolverStop_ = true;
  }
  resolverWake_.notify_all();
  if (resolverThread_.joinable()) resolverThread_.join();
  boost::system::error_code ec;
  socket_.close(ec);
  vip_.Shutdown();
  {
    std::lock_guard<std::mutex> l(mu_);
    stopped_ = true;
  }
  changed_.notify_all();
  spdlog::info("watchdog: resigned and stopped");
}

void WatchdogService::ResolverLoop() {
  std::unique_lock<std::mutex> l(peersMu_);
  while (!resolverStop_) {
    const std::vector<int> due = peers_->Due(NowMs());
    for (int i : due) {
      if (i >= peers_->size()) continue;  // the membership shrank meanwhile
      const std::string host = peers_->peer(i).host;
      l.unlock();  // the lookup may block for seconds; senders keep going
      Result<std::vector<Address>> r = resolve_(host);
      l.lock();
      if (resolverStop_) return;
      if (i >= peers_->size() || peers_->peer(i).host != host) continue;  // changed meanwhile
      const std::string name = size_t(i) < peerNames_.size() ? peerNames_[size_t(i)] : host;
      const bool was_known = peers_->Endpoint(i).has_value();
      const bool tried_before = peers_->tried(i);
      if (peers_->Resolved(i, r, NowMs())) {
        const auto ep = peers_->Endpoint(i);
        if (ep)
          spdlog::info("watchdog: member {} ({}) is at {}", name, host,
                       ep->address().to_string());
        else
          spdlog::warn("watchdog: member {} ({}) no longer resolves ({}); it is unknown until it does",
                       name, host, peers_->LastError(i));
      } else if (!was_known && !peers_->Endpoint(i) && !tried_before) {
        spdlog::warn("watchdog: member {} ({}) does not resolve yet ({}); it is unknown until it does, "
                     "retrying every second", name, host, peers_->LastError(i));
      }
    }
    resolverWake_.wait_for(l, std::chrono::milliseconds(100));
  }
}

std::vector<PeerAddresses::Peer> WatchdogService::PeersOf(const NodeList& nodes) const {
  std::vector<PeerAddresses::Peer> peers;
  for (const auto& n : nodes) peers.push_back({n.host, static_cast<uint16_t>(spec_.HeartbeatPort(n))});
  return peers;
}

void WatchdogService::ApplyMembers(const std::shared_ptr<const NodeList>& nodes, uint64_t generation) {
  if (!election_ || election_->state() == MemberState::kShutdown) return;
  const NodeList& list = *nodes;
  std::vector<std::string> names;
  for (const auto& n : list) names.push_back(n.name);
  const int members = static_cast<int>(list.size());
  if (members > 254 || self_ >= members || list[size_t(self_)].name != ctx_.nodeName) {
    spdlog::error("watchdog: membership generation {} ({} members) leaves this member's index {}: not taken "
                  "(the agent refuses such a list; this is a bug)",
                  generation, members, self_);
    return;
  }
  const int before = config_.members;
  const int64_t now = NowMs();
  spec_.nodes = list;
  prints_ = PrintsOf(names);
  config_.members = members;
  replay_->Resize(list.size());
  contact_->SetMembers(members);
  {
    std::lock_guard<std::mutex> l(peersMu_);
    peers_->Replace(PeersOf(list));
    peerNames_ = names;
  }
  resolverWake_.notify_all();
  Actions out;
  election_->SetMembers(members, now, &out);
  Process(out);
  std::string joined;
  for (const auto& n : names) joined += (joined.empty() ? "" : ", ") + n;
  spdlog::info("watchdog: membership generation {}: {} members (were {}), quorum {}: {}", generation, members,
               before, config_.Majority(), joined);
  RefreshSnapshot();
}

void WatchdogService::StartReceive() {
  socket_.async_receive_from(asio::buffer(buffer_), sender_,
                             [this](const boost::system::error_code& ec, size_t n) {
                               if (ec == asio::error::operation_aborted) return;
                               if (!ec) OnDatagram(n);
                               StartReceive();
                             });
}

void WatchdogService::NoteDrop(DropReason reason, const std::string& from) {
  auto it = metrics_.dropped.find(reason);
  if (it != metrics_.dropped.end()) it->second->Inc();
  int64_t now = NowMs();
  auto& last = lastDropLog_[reason];
  if (last != 0 && now - last < kDropLogEveryMs) return;
  last = now;
  // Right after a start the peers still echo our previous incarnation for one
  // exchange: expected, counted, not worth a warning.
  const bool expected = reason == DropReason::kOldIncarnation && now < 3 * config_.deadTimeMs;
  spdlog::log(expected ? spdlog::level::info : spdlog::level::warn,
              "watchdog: dropped datagram from {}: {} ({} so far; logged at most every {}s)", from,
              ToString(reason), it != metrics_.dropped.end() ? it->second->Value() : 0,
              kDropLogEveryMs / 1000);
}

void WatchdogService::OnDatagram(size_t size) {
  auto from = [this] { return sender_.address().to_string() + ":" + std::to_string(sender_.port()); };
  DecodeResult r = DecodeMessage(buffer_.data(), size, key_, prints_);
  if (!r.ok()) return NoteDrop(r.error, from());
  if (r.message.from == self_) return NoteDrop(DropReason::kUnknownMember, from());
  // Before the replay window: a datagram made before this member restarted echoes
  // its previous incarnation, and the fresh window would take it once.
  DropReason echo = contact_->Received(r.message.from, r.message.seq, r.message.echo, NowMs());
  if (echo != DropReason::kNone) return NoteDrop(echo, from());
  DropReason replay = replay_->Check(r.message.from, r.message.seq);
  if (replay != DropReason::kNone) return NoteDrop(replay, from());
  contact_->Accepted(r.message.from, r.message.echo);
  metrics_.received.Inc();
  CheckWhereViewsDiffer(r.message.health);
  Actions out;
  election_->OnMessage(r.message, NowMs(), &out);
  Process(out);
  RefreshSnapshot();
}

HealthStatus WatchdogService::LocalVote(size_t backend) const {
  BackendHealth h;
  if (ctx_.health && backend < spec_.nodes.size() && ctx_.health->Get(spec_.nodes[backend].name, &h) &&
      h.lastCheck != std::chrono::system_clock::time_point{})
    return h.up ? HealthStatus::kUp : HealthStatus::kDown;
  return HealthStatus::kUnknown;  // not checked yet: no vote
}

void WatchdogService::CheckWhereViewsDiffer(const std::vector<HealthVote>& peer) {
  if (!ctx_.health) return;
  for (const HealthVote& v : peer) {
    if (v.status == HealthStatus::kUnknown || v.backend >= spec_.nodes.size()) continue;
    const HealthStatus mine = LocalVote(v.backend);
    if (mine != HealthStatus::kUnknown && mine != v.status) {
      // A peer sees this backend otherwise: check it now rather than at the next
      // period, so that consensus on a failure forms within a heartbeat.
      ctx_.health->RequestCheck();
      return;
    }
  }
}

void WatchdogService::ScheduleTick() {
  timer_.expires_after(std::chrono::milliseconds(config_.TickMs()));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    Tick();
    ScheduleTick();
  });
}

void WatchdogService::Tick() {
  std::vector<HealthVote> votes;
  for (size_t b = 0; b < spec_.nodes.size(); ++b)
    votes.push_back({static_cast<uint8_t>(b), LocalVote(b)});
  election_->SetLocalHealth(std::move(votes));
  Actions out;
  const int64_t now = NowMs();
  election_->OnTick(now, &out);
  {  // a silent peer may be a recreated pod with a new address: look its name up again
    std::lock_guard<std::mutex> l(peersMu_);
    for (int i = 0; i < config_.members; ++i)
      if (i != self_ && (contact_->LastHeard(i) < 0 || now - contact_->LastHeard(i) > config_.deadTimeMs))
        peers_->Silent(i);
  }
  if (ctx_.health) {  // lost hosts: their backends' health checks give up quickly
    std::set<std::string> lost;
    for (int i = 0; i < config_.members; ++i)
      if (i != self_ && election_->Display(i, now) == DisplayState::kLost)
        lost.insert(spec_.nodes[size_t(i)].name);
    ctx_.health->SetHostsLost(std::move(lost));
  }
  Process(out);
  RefreshSnapshot();
}

void WatchdogService::Process(Actions& actions) {
  bool persist_failed = false;
  for (const Action& a : actions) {
    switch (a.kind) {
      case ActionKind::kPersist: {
        stored_.election = a.persist;
        Status s = SaveState(ctx_.stateDir, stored_);
        if (!s.ok()) {
          metrics_.persistFailures.Inc();
          spdlog::critical("watchdog: cannot persist term/vote/register ({}); holding back the "
                           "messages that depend on it", s.message());
          persist_failed = true;
        }
        break;
      }
      case ActionKind::kSend:
        if (persist_failed) break;
        SendMessage(a.to, a.message);
        if (a.message.kind == MessageKind::kResign) SendMessage(a.to, a.message);  // once more
        break;
      case ActionKind::kVipUp: vip_.Up(); break;
      case ActionKind::kVipDown: vip_.Down(a.text); break;  // returns when the VIP is gone
      case ActionKind::kEvent: LogEvent(a); break;
    }
  }
}

void WatchdogService::SendMessage(int to, const WireMessage& m) {
  WireMessage w = m;
  w.seq = seq_->Next();
  w.fingerprint = prints_.full;
  w.prefixFingerprint = prints_.prefix;
  contact_->Sent(w.seq, NowMs());
  for (int i = 0; i < config_.members; ++i) {
    if (i == self_ || (to != -1 && to != i)) continue;
    w.echo = contact_->EchoFor(i);  // per destination
    std::vector<uint8_t> bytes = EncodeMessage(w, key_);
    if (bytes.empty()) {
      spdlog::error("watchdog: message too large to send (register document over {} bytes?)",
                    kMaxRegisterDoc);
      return;
    }
    std::optional<udp::endpoint> to_ep;
    {
      std::lock_guard<std::mutex> l(peersMu_);
      to_ep = peers_->Endpoint(i);
    }
    if (!to_ep) continue;  // unknown: its name does not resolve (yet)
    boost::system::error_code ec;
    socket_.send_to(asio::buffer(bytes), *to_ep, 0, ec);
    if (ec) {
      std::lock_guard<std::mutex> l(peersMu_);
      peers_->SendFailed(i);
      resolverWake_.notify_all();
    }
    if (!ec) {
      metrics_.sent.Inc();
    } else if (NowMs() - lastSendErrorLog_ > kDropLogEveryMs) {
      lastSendErrorLog_ = NowMs();
      spdlog::warn("watchdog: sending to {}: {} (logged at most every 5s)", spec_.nodes[size_t(i)].name,
                   ec.message());
    }
  }
}

void WatchdogService::LogEvent(const Action& a) {
  const auto& nodes = spec_.nodes;
  auto name = [&](uint64_t i) { return i < nodes.size() ? nodes[i].name : std::to_string(i); };
  switch (a.event) {
    case EventKind::kStateChanged: spdlog::info("watchdog: state is now {}", a.text); break;
    case EventKind::kTermChanged: spdlog::info("watchdog: term {} ({})", a.value, a.text); break;
    case EventKind::kElectionStarted:
      metrics_.elections.Inc();
      spdlog::info("watchdog: standing for election in term {} ({})", a.value, a.text);
      break;
    case EventKind::kBecameLeader: spdlog::warn("watchdog: elected LEADER in term {}", a.value); break;
    case EventKind::kSteppedDown: spdlog::warn("watchdog: stepped down in term {}: {}", a.value, a.text); break;
    case EventKind::kLeaseAcquired: spdlog::info("watchdog: lease acquired in term {}", a.value); break;
    case EventKind::kLeaseLost: spdlog::warn("watchdog: lease lost in term {}: {}", a.value, a.text); break;
    case EventKind::kVoteGranted: spdlog::info("watchdog: voted for {}", name(a.value)); break;
    case EventKind::kVoteRefused:
      spdlog::info("watchdog: refused vote to {}: {}", name(a.value), a.text);
      break;
    case EventKind::kRegisterCommitted: spdlog::debug("watchdog: register version {} durable", a.value); break;
    case EventKind::kRegisterAdopted:
      spdlog::info("watchdog: adopted register version {} ({})", a.value, a.text);
      break;
    case EventKind::kPeerResigned: spdlog::info("watchdog: {} resigned (clean stop)", name(a.value)); break;
    case EventKind::kHandover: spdlog::info("watchdog: handover to {}: {}", name(a.value), a.text); break;
  }
}

void WatchdogService::RefreshSnapshot() {
  const int64_t now = NowMs();
  const Election& e = *election_;
  int leader = e.leader(now);
  if (leader >= 0 && leader != lastLeader_) {
    if (lastLeader_ >= 0) metrics_.leaderChanges.Inc();
    spdlog::info("watchdog: leader is {} (term {})",
                 size_t(leader) < spec_.nodes.size() ? spec_.nodes[size_t(leader)].name : std::to_string(leader),
                 e.term());
    lastLeader_ = leader;
  }
  const bool leading = e.state() == MemberState::kLeader;
  const uint64_t durable = leading ? e.committedVersion() : 0;
  metrics_.term.Set(static_cast<double>(e.term()));
  metrics_.isLeader.Set(e.HasLease(now) ? 1 : 0);
  metrics_.quorum.Set(e.HasQuorum(now) ? 1 : 0);
  metrics_.liveMembers.Set(e.LiveMembers(now));
  metrics_.vipHeld.Set(spec_.vip.enabled() && e.vipHeld() ? 1 : 0);
  metrics_.registerDurable.Set(static_cast<double>(durable));
  RegisterValue reg{e.reg().term, e.reg().version, ParseRegisterDoc(e.reg().doc),
                    leading && durable >= e.reg().version};
  WatchdogDetail detail = BuildDetail(spec_, e, now, durable);
  // Write leases (contact_lease.h): whether each member can no longer hold one we
  // confirm (the controller beside the leader waits for it before failing over an
  // unreachable primary), and our own.
  WriteLease lease;
  lease.required = contact_->LeaseRequired();
  const int64_t lease_until = std::min<int64_t>(contact_->LeaseUntil(), now + 3600000);
  lease.until = epoch_ + std::chrono::milliseconds(lease_until);
  for (int m = 0; m < config_.members; ++m) {
    WatchdogMember& j = detail.members[size_t(m)];
    if (m == self_) {
      j.ownLease = WatchdogOwnLease{!lease.required || lease_until > now,
                                    lease.required ? std::max<int64_t>(0, lease_until - now) : -1};
    } else {
      WatchdogPeerContact c;
      c.writeLeaseOver = contact_->LeaseOverFor(m, now, config_.deadTimeMs);
      std::lock_guard<std::mutex> l(peersMu_);
      const auto ep = peers_->Endpoint(m);
      // none: unknown, its host name does not resolve (yet); the member counts as not live.
      if (ep) c.address = ep->address().to_string();
      c.addressError = peers_->LastError(m);
      j.contact = c;
    }
  }
  detail.writeLeaseRequired = lease.required;
  detail.vip.conflict = vip_.conflict();
  WatchdogSummary summary = BuildSummary(spec_, e, now);
  Leadership leadership = BuildLeadership(spec_, e, now);
  std::vector<BackendVerdict> verdicts = BuildVerdicts(spec_, e, now);
  {
    std::lock_guard<std::mutex> l(mu_);
    detail_ = std::move(detail);
    summary_ = std::move(summary);
    leadership_ = std::move(leadership);
    verdicts_ = std::move(verdicts);
    register_ = std::move(reg);
    durableVersion_ = durable;
    writeLease_ = lease;
  }
  changed_.notify_all();
}

web::json::value WatchdogService::Summary() const {
  std::lock_guard<std::mutex> l(mu_);
  return ToJson(summary_);
}

WatchdogDetail WatchdogService::Detail() const {
  std::lock_guard<std::mutex> l(mu_);
  return detail_;
}

WatchdogApi::Leadership WatchdogService::GetLeadership() const {
  std::lock_guard<std::mutex> l(mu_);
  return leadership_;
}

std::vector<WatchdogApi::BackendVerdict> WatchdogService::BackendConsensus() const {
  std::lock_guard<std::mutex> l(mu_);
  return verdicts_;
}

WatchdogApi::WriteLease WatchdogService::GetWriteLease() const {
  std::lock_guard<std::mutex> l(mu_);
  // Stopped (the sidecar is exiting): nothing renews the lease, and nothing fences
  // once the process is gone either; a clean stop does not stop PostgreSQL.
  if (stopped_) return WriteLease{};
  return writeLease_;
}

WatchdogApi::RegisterValue WatchdogService::ReadRegister() const {
  std::lock_guard<std::mutex> l(mu_);
  return register_;
}

Result<uint64_t> WatchdogService::WriteRegister(const web::json::value& doc,
                                                std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string text = doc.serialize();
  if (text.size() > kMaxRegisterDoc)
    return Result<uint64_t>::Error("register document is " + std::to_string(text.size()) +
                                   " bytes; the limit is " + std::to_string(kMaxRegisterDoc));
  if (!started_) return Result<uint64_t>::Error("watchdog is not running");
  auto written = std::make_shared<std::promise<std::pair<uint64_t, uint64_t>>>();
  asio::post(io_, [this, text, written] {
    Actions out;
    uint64_t v = election_->WriteRegister(text, NowMs(), &out);
    Process(out);
    RefreshSnapshot();
    written->set_value({v, election_->term()});
  });
  auto f = written->get_future();
  if (f.wait_until(deadline) != std::future_status::ready)
    return Result<uint64_t>::Error("timed out handing the write to the watchdog");
  // Plain locals, not a structured binding: the lambda below captures them (C++20 for clang).
  const auto [version_got, term_got] = f.get();
  const uint64_t version = version_got, term = term_got;
  if (version == 0) return Result<uint64_t>::Error("not the leader with quorum: write refused");
  std::unique_lock<std::mutex> l(mu_);
  changed_.wait_until(l, deadline, [&] {
    return stopped_ || leadership_.term != term || !leadership_.leaderWithQuorum ||
           durableVersion_ >= version;
  });
  if (leadership_.term == term && durableVersion_ >= version) return version;
  if (stopped_) return Result<uint64_t>::Error("watchdog stopped before the write was durable");
  if (leadership_.term != term || !leadership_.leaderWithQuorum)
    return Result<uint64_t>::Error("lost leadership before a majority stored version " +
                                   std::to_string(version));
  return Result<uint64_t>::Error("timed out waiting for a majority to store version " +
                                 std::to_string(version));
}

}  // namespace watchdog

std::unique_ptr<Component> MakeWatchdogComponent(SidecarContext& ctx,
                                                 watchdog::HostResolver resolve) {
  ctx.InitMembership();
  auto service = std::make_unique<watchdog::WatchdogService>(ctx, std::move(resolve));
  ctx.watchdog = service.get();
  return service;
}

}  // namespace pgvigil
