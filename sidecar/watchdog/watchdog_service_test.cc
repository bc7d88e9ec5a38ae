// Three real watchdog members in one process, talking UDP over 127.0.0.1, with
// fast timings (heartbeat 100ms, dead time 400ms). The VIP commands create and
// remove a file per member, so "who holds the VIP" is observable on disk.
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <boost/asio.hpp>
#include <gtest/gtest.h>

#include "sidecar/watchdog/vip_guard.h"
#include "sidecar/watchdog/watchdog_api.h"
#include "sidecar/watchdog/watchdog_component.h"
#include "sidecar/watchdog/wire_message.h"

namespace pgvigil {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

int FreeUdpPort() {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

class WatchdogServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("pgvigil-wd-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "key") << "test-key-0123456789\n";
    fs::permissions(dir_ / "key", fs::perms::owner_read | fs::perms::owner_write);  // a secret: 0600
    for (int i = 0; i < 3; ++i) {
      NodeSpec n;
      n.name = "server" + std::to_string(i + 1);
      n.host = "127.0.0.1";
      n.heartbeatPort = FreeUdpPort();
      spec_.nodes.push_back(n);
    }
    spec_.vip.address = "10.99.0.150/24";
    spec_.watchdog.heartbeatInterval = Millis(100);
    spec_.watchdog.deadTime = Millis(400);
    spec_.watchdog.authKeyFile = (dir_ / "key").string();
    for (int i = 0; i < 3; ++i) ASSERT_NO_FATAL_FAILURE(Start(i));
  }

  void TearDown() override {
    for (auto& p : parts_) p.reset();
    fs::remove_all(dir_);
  }

  std::string VipFile(int i) const { return (dir_ / (spec_.nodes[i].name + ".vip")).string(); }

  // Starts member i once; on success it joins parts_/ctxs_.
  Status TryStart(int i) {
    auto ctx = std::make_unique<SidecarContext>();
    ctx->spec = spec_;
    ctx->spec.vip.upCommand = "/usr/bin/touch " + VipFile(i);
    ctx->spec.vip.downCommand = "/bin/rm -f " + VipFile(i);
    ctx->spec.vip.arpingCommand = "";
    ctx->spec.vip.dadCommand = "";
    ctx->nodeName = spec_.nodes[i].name;
    ctx->stateDir = (dir_ / ctx->nodeName).string();
    auto part = MakeWatchdogComponent(*ctx, resolver_);
    if (ctx->watchdog == nullptr) return Status::Error("MakeWatchdogComponent set no WatchdogApi");
    Status s = part->Start();
    if (!s.ok()) return s;
    parts_[i] = std::move(part);
    ctxs_[i] = std::move(ctx);
    return s;
  }

  // A member restarted in this process can find its port still held for a moment:
  // a VIP command forked by another member holds a copy of every descriptor until
  // the child closes them (common/process.cc), which on a loaded machine can take
  // tens of ms (CI: the restart failed, and the test went on without the member).
  void Start(int i) {
    Status s = Status::Ok();
    WaitFor([&] {
      s = TryStart(i);
      return s.ok() || s.message().find("Address already in use") == std::string::npos;
    }, 2s);
    ASSERT_TRUE(s.ok()) << s.message();
  }

  void StopMember(int i) { parts_[i].reset(); }
  // Member i's current incarnation, from its state file.
  uint32_t Incarnation(int i) const {
    std::ifstream f(dir_ / spec_.nodes[i].name / "watchdog.json");
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    return web::json::value::parse(text).at("incarnation").as_number().to_uint32();
  }  // destructor: Stop() = resign
  WatchdogApi* Api(int i) { return parts_[i] ? ctxs_[i]->watchdog : nullptr; }

  // The one member that is leader with quorum, when all live members agree on it.
  int AgreedLeader() {
    int leader = -1;
    for (int i = 0; i < 3; ++i)
      if (Api(i) && Api(i)->GetLeadership().leaderWithQuorum) {
        if (leader >= 0) return -2;
        leader = i;
      }
    if (leader < 0) return -1;
    for (int i = 0; i < 3; ++i)
      if (Api(i) && Api(i)->GetLeadership().leader != spec_.nodes[leader].name) return -1;
    return leader;
  }

  bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (cond()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return cond();
  }

  int VipFiles() {
    int n = 0;
    for (int i = 0; i < 3; ++i) n += fs::exists(VipFile(i)) ? 1 : 0;
    return n;
  }

  fs::path dir_;
  ClusterSpec spec_;
  watchdog::HostResolver resolver_;  // null: the system resolver
  std::unique_ptr<SidecarContext> ctxs_[3];
  std::unique_ptr<Component> parts_[3];
};

TEST_F(WatchdogServiceTest, ElectsOneLeaderThatHoldsTheVipAndHandsOverOnCleanStop) {
  int leader = -1;
  ASSERT_TRUE(WaitFor([&] { return (leader = AgreedLeader()) >= 0; }, 5s));
  ASSERT_TRUE(WaitFor([&] { return fs::exists(VipFile(leader)); }, 2s));
  EXPECT_EQ(VipFiles(), 1);
  WatchdogDetail d = Api((leader + 1) % 3)->Detail();
  EXPECT_EQ(d.leader, spec_.nodes[leader].name);
  EXPECT_TRUE(d.quorum);
  EXPECT_EQ(d.members.at(leader).state, "LEADER");
  EXPECT_EQ(d.state, "STANDBY");

  // Clean stop: the VIP is gone when Stop returns; a new leader within dead time.
  auto stopped_at = std::chrono::steady_clock::now();
  StopMember(leader);
  EXPECT_FALSE(fs::exists(VipFile(leader)));
  int next = -1;
  ASSERT_TRUE(WaitFor([&] { return (next = AgreedLeader()) >= 0 && fs::exists(VipFile(next)); }, 3s));
  auto took = std::chrono::steady_clock::now() - stopped_at;
  EXPECT_NE(next, leader);
  EXPECT_EQ(VipFiles(), 1);
  std::printf("clean stop -> new leader with VIP in %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  EXPECT_EQ(Api(next)->Detail().members.at(leader).state, "SHUTDOWN");

  // Restart: joins as STANDBY, the leader stays.
  ASSERT_NO_FATAL_FAILURE(Start(leader));
  ASSERT_TRUE(WaitFor([&] {
    return Api(leader)->Detail().state == "STANDBY" &&
           Api(leader)->GetLeadership().leader == spec_.nodes[next].name;
  }, 3s));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(AgreedLeader(), next);
  EXPECT_EQ(VipFiles(), 1);
}

// Issue 11 (rolling updates): a clean stop of the leader hands over to the member
// it names, and the others follow a leader all along (a proxy refuses writes while
// its member knows no live leader); never two VIP files. Sampled every 0.2 ms.
TEST_F(WatchdogServiceTest, ACleanStopHandsOverWithoutALeaderlessMomentOnTheOthers) {
  int leader = -1;
  ASSERT_TRUE(WaitFor([&] { return (leader = AgreedLeader()) >= 0; }, 5s));
  ASSERT_TRUE(WaitFor([&] { return fs::exists(VipFile(leader)); }, 2s));
  std::this_thread::sleep_for(300ms);  // every member has heard a few rounds
  WatchdogApi* others[2] = {Api((leader + 1) % 3), Api((leader + 2) % 3)};
  std::atomic<bool> done{false};
  std::atomic<int> leaderless{0}, not_current{0}, two_vips{0}, samples{0};
  std::thread sampler([&] {
    while (!done) {
      for (WatchdogApi* a : others) {
        WatchdogApi::Leadership l = a->GetLeadership();
        if (l.leader.empty()) ++leaderless;
        if (!l.registerCurrent) ++not_current;
      }
      if (VipFiles() > 1) ++two_vips;
      ++samples;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  const auto stopped_at = std::chrono::steady_clock::now();
  StopMember(leader);
  EXPECT_FALSE(fs::exists(VipFile(leader)));
  int next = -1;
  const bool elected = WaitFor([&] { return (next = AgreedLeader()) >= 0 && fs::exists(VipFile(next)); }, 3s);
  const auto took = std::chrono::steady_clock::now() - stopped_at;
  std::this_thread::sleep_for(100ms);
  done = true;
  sampler.join();
  ASSERT_TRUE(elected);
  EXPECT_NE(next, leader);
  EXPECT_EQ(leaderless.load(), 0) << "of " << samples.load() << " samples";
  EXPECT_EQ(not_current.load(), 0) << "of " << samples.load() << " samples";
  EXPECT_EQ(two_vips.load(), 0);
  EXPECT_EQ(VipFiles(), 1);
  EXPECT_LT(took, 400ms);  // deadTime: well before a crashed leader would be replaced
  std::printf("clean stop -> handed over (new leader with VIP) in %lld ms; %d samples, %d leaderless\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()),
              samples.load(), leaderless.load());
}

TEST_F(WatchdogServiceTest, RegisterWritesAreDurableOnAMajorityAndRefusedElsewhere) {
  int leader = -1;
  ASSERT_TRUE(WaitFor([&] { return (leader = AgreedLeader()) >= 0; }, 5s));
  web::json::value doc = web::json::value::object();
  doc["primary"] = web::json::value::string("server1");
  doc["timeline"] = web::json::value::number(3);
  auto v = Api(leader)->WriteRegister(doc, 2000ms);
  ASSERT_TRUE(v.ok()) << v.error();
  auto refused = Api((leader + 1) % 3)->WriteRegister(doc, 500ms);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("not the leader"), std::string::npos);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(WaitFor([&] { return Api(i)->ReadRegister().version >= *v; }, 2s)) << i;
    EXPECT_EQ(Api(i)->ReadRegister().doc.at("primary").as_string(), "server1");
  }
  EXPECT_TRUE(Api(leader)->ReadRegister().durable);

  // The next leader starts from the durable copy.
  StopMember(leader);
  int next = -1;
  ASSERT_TRUE(WaitFor([&] { return (next = AgreedLeader()) >= 0; }, 3s));
  EXPECT_EQ(Api(next)->ReadRegister().doc.at("timeline").as_integer(), 3);
  EXPECT_GT(Api(next)->ReadRegister().version, *v);
}

TEST_F(WatchdogServiceTest, BackendIsConsensusDownOnlyWhenAMajoritySeesItDown) {
  auto report = [&](int member, int backend, bool up) {
    BackendHealth h;
    h.node = spec_.nodes[backend].name;
    h.up = up;
    h.lastCheck = std::chrono::system_clock::now();
    ctxs_[member]->health->Update(h);
  };
  for (int m = 0; m < 3; ++m)
    for (int b = 0; b < 3; ++b) report(m, b, true);
  report(0, 2, false);  // one member's bad network
  std::this_thread::sleep_for(400ms);
  for (int m = 0; m < 3; ++m) EXPECT_FALSE(Api(m)->BackendConsensus()[2].consensusDown) << m;
  report(1, 2, false);
  for (int m = 0; m < 3; ++m)
    EXPECT_TRUE(WaitFor([&] { return Api(m)->BackendConsensus()[2].consensusDown; }, 2s)) << m;
  EXPECT_FALSE(Api(2)->BackendConsensus()[1].consensusDown);
}

TEST_F(WatchdogServiceTest, ForgedStaleAndGarbageDatagramsAreDroppedAndCounted) {
  int leader = -1;
  ASSERT_TRUE(WaitFor([&] { return (leader = AgreedLeader()) >= 0; }, 5s));
  int target = (leader + 1) % 3;
  boost::asio::io_context io;
  boost::asio::ip::udp::socket sock(io, boost::asio::ip::udp::v4());
  boost::asio::ip::udp::endpoint to(boost::asio::ip::make_address("127.0.0.1"),
                                    spec_.nodes[target].heartbeatPort);
  watchdog::WireMessage m;
  m.kind = watchdog::MessageKind::kVoteRequest;  // would disrupt, if accepted
  m.from = static_cast<uint8_t>((target + 1) % 3);
  m.term = 1000;
  m.seq = 1;  // incarnation 0: older than anything the real member sent
  m.echo = uint64_t{Incarnation(target)} << 32;  // passes the restart check: reaches the window
  m.fingerprint = watchdog::MembershipFingerprint({"server1", "server2", "server3"});
  auto forged = watchdog::EncodeMessage(m, "wrong key");
  auto stale = watchdog::EncodeMessage(m, "test-key-0123456789");
  sock.send_to(boost::asio::buffer(forged), to);
  sock.send_to(boost::asio::buffer(stale), to);
  sock.send_to(boost::asio::buffer(std::string("hello")), to);
  MetricsRegistry& metrics = *ctxs_[target]->metrics;
  auto dropped = [&](const char* reason) {
    return metrics.Value("pgvigil_watchdog_dropped_datagrams_total",
                         std::string("reason=\"") + reason + "\"");
  };
  EXPECT_TRUE(WaitFor([&] {
    return dropped("bad_mac") == 1 && dropped("stale") == 1 && dropped("too_short") == 1;
  }, 2s)) << metrics.Render();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(AgreedLeader(), leader);
  EXPECT_LT(Api(target)->GetLeadership().term, 1000u);
  EXPECT_NE(metrics.Render().find("pgvigil_watchdog_term"), std::string::npos);
}

// Issue 14 item 9b: a datagram made before the receiver restarted is not accepted
// by its fresh replay window. The "captured" datagram is a vote request with a huge
// term, authentic (right key, the sender's real incarnation) and echoing the
// receiver's incarnation of before the restart, as a recording would.
TEST_F(WatchdogServiceTest, ADatagramFromBeforeTheReceiversRestartIsDroppedAndCounted) {
  int leader = -1;
  ASSERT_TRUE(WaitFor([&] { return (leader = AgreedLeader()) >= 0; }, 5s));
  const int target = (leader + 1) % 3;
  const int sender = (target + 1) % 3;
  watchdog::WireMessage m;
  m.kind = watchdog::MessageKind::kHeartbeat;
  m.state = watchdog::MemberState::kLeader;
  m.from = static_cast<uint8_t>(sender);
  m.leader = static_cast<uint8_t>(sender);
  m.round = 1;
  m.term = 1000;
  m.seq = (uint64_t{Incarnation(sender)} << 32) | 0xFFFFFF00u;
  m.echo = (uint64_t{Incarnation(target)} << 32) | 1;
  m.fingerprint = watchdog::MembershipFingerprint({"server1", "server2", "server3"});
  const auto captured = watchdog::EncodeMessage(m, "test-key-0123456789");

  const uint32_t before = Incarnation(target);
  StopMember(target);
  ASSERT_NO_FATAL_FAILURE(Start(target));
  ASSERT_GT(Incarnation(target), before);
  boost::asio::io_context io;
  boost::asio::ip::udp::socket sock(io, boost::asio::ip::udp::v4());
  boost::asio::ip::udp::endpoint to(boost::asio::ip::make_address("127.0.0.1"),
                                    spec_.nodes[target].heartbeatPort);
  MetricsRegistry& metrics = *ctxs_[target]->metrics;
  auto old_incarnation = [&] {
    return metrics.Value("pgvigil_watchdog_dropped_datagrams_total", "reason=\"old_incarnation\"");
  };
  const double dropped_before = old_incarnation();
  sock.send_to(boost::asio::buffer(captured), to);
  EXPECT_TRUE(WaitFor([&] { return old_incarnation() > dropped_before; }, 2s)) << metrics.Render();
  std::this_thread::sleep_for(300ms);
  EXPECT_LT(Api(target)->GetLeadership().term, 1000u) << "the replayed round was accepted";
  ASSERT_TRUE(WaitFor([&] { return AgreedLeader() >= 0; }, 5s));

  // The same datagram echoing the new incarnation would be taken (the check is
  // what dropped it): the member adopts term 1000.
  m.seq += 1;
  m.echo = (uint64_t{Incarnation(target)} << 32) | 1;
  sock.send_to(boost::asio::buffer(watchdog::EncodeMessage(m, "test-key-0123456789")), to);
  EXPECT_TRUE(WaitFor([&] { return Api(target)->GetLeadership().term >= 1000u; }, 2s));
}

// The member's port held by another socket on IPv6 alone: the member does not
// start (it used to fall back to an IPv4-only socket, deaf to IPv6 peers for good;
// a port in use is not a kernel without IPv6).
TEST_F(WatchdogServiceTest, APortTakenOnIpv6IsAnErrorNotAnIpv4OnlyMember) {
  StopMember(0);
  int fd = socket(AF_INET6, SOCK_DGRAM, 0);
  if (fd < 0) GTEST_SKIP() << "no IPv6 in this kernel";
  int on = 1;
  setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_any;
  a.sin6_port = htons(static_cast<uint16_t>(spec_.nodes[0].heartbeatPort));
  // The stopped member's own socket may still be held by a forked child (Start).
  const bool bound = WaitFor([&] { return bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0; }, 3s);
  if (!bound) {
    close(fd);
    FAIL() << "could not take port " << spec_.nodes[0].heartbeatPort << " on [::]";
  }
  const Status s = TryStart(0);
  close(fd);
  EXPECT_FALSE(s.ok()) << "the member started beside a socket holding its port";
  EXPECT_NE(s.message().find("binding UDP port " + std::to_string(spec_.nodes[0].heartbeatPort) +
                             ": Address already in use"),
            std::string::npos)
      << s.message();
  // Once the port is free, the member starts.
  ASSERT_NO_FATAL_FAILURE(Start(0));
  EXPECT_TRUE(WaitFor([&] { return AgreedLeader() >= 0; }, 5s));
}

// Peers by DNS name (KUBERNETES.md 4.5.1): a member whose name does not resolve
// when the others start is unknown (not live), starts nobody's failure, and is
// heard once its name resolves. Names go through the real system resolver; the
// test decides only which name it asks for ("localhost", or an .invalid name,
// which never resolves), so the pod-DNS name can appear mid-test.
TEST_F(WatchdogServiceTest, AMemberWhoseNameResolvesOnlyLaterIsUnknownUntilThen) {
  for (auto& p : parts_) p.reset();
  auto resolvable = std::make_shared<std::atomic<bool>>(false);
  resolver_ = [resolvable](const std::string& host) {
    if (host != "server3.pods.pgvigil-test") return watchdog::ResolveWithSystem(host);
    return watchdog::ResolveWithSystem(*resolvable ? "localhost" : "server3.pods.invalid");
  };
  spec_.nodes[2].host = "server3.pods.pgvigil-test";
  for (int i = 0; i < 3; ++i) ASSERT_NO_FATAL_FAILURE(Start(i));
  // Members 1 and 2 form a majority and elect a leader; 3 is unknown to them.
  ASSERT_TRUE(WaitFor([&] { return Api(0)->GetLeadership().quorum && !Api(0)->GetLeadership().leader.empty(); }, 5s));
  auto third = [&](int viewer) { return Api(viewer)->Detail().members.at(2); };
  ASSERT_TRUE(WaitFor([&] { return !third(0).contact.value().addressError.empty(); }, 3s));
  EXPECT_FALSE(third(0).contact.value().address.has_value());
  EXPECT_EQ(third(0).state, "LOST");
  EXPECT_EQ(third(1).state, "LOST");
  // Member 3 hears nobody: nobody can send to it.
  EXPECT_FALSE(Api(2)->GetLeadership().quorum);
  // The name appears (the pod's DNS record is published): within the retry (1 s)
  // the others send to it, and it joins, with the same leader.
  resolvable->store(true);
  ASSERT_TRUE(WaitFor([&] {
    return third(0).contact.value().address.has_value() && third(1).contact.value().address.has_value();
  }, 5s));
  EXPECT_EQ(third(0).contact.value().addressError, "");
  ASSERT_TRUE(WaitFor([&] { return Api(2)->GetLeadership().quorum && third(0).state != "LOST"; }, 5s));
  EXPECT_TRUE(WaitFor([&] { return AgreedLeader() >= 0; }, 5s));
}

// The write lease (issue 14 item 10): held while the others hear this member,
// over once they cannot; and the others see it over after dead time.
TEST_F(WatchdogServiceTest, WriteLeaseIsHeldWithContactAndRunsOutWithoutIt) {
  ASSERT_TRUE(WaitFor([&] { return AgreedLeader() >= 0; }, 5s));
  for (int i = 0; i < 3; ++i) {
    auto l = Api(i)->GetWriteLease();
    EXPECT_TRUE(l.required);
    EXPECT_TRUE(WaitFor([&] { return Api(i)->GetWriteLease().Held(std::chrono::steady_clock::now()); }, 2s)) << i;
  }
  // Members 1 and 2 stop: member 0 is alone. Its lease must run out within about
  // the lease time (dead time 400 ms here).
  StopMember(1);
  StopMember(2);
  auto cut = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor([&] { return !Api(0)->GetWriteLease().Held(std::chrono::steady_clock::now()); }, 2s));
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - cut);
  EXPECT_LE(took.count(), 400) << "the lease must end before the dead time";
  // The GET /v1/watchdog view is refreshed every tick.
  EXPECT_TRUE(WaitFor([&] { return !Api(0)->Detail().members.at(0).ownLease.value().held; }, 1s));
  EXPECT_TRUE(WaitFor([&] { return Api(0)->Detail().members.at(1).contact.value().writeLeaseOver; }, 2s));
  // One member back: a majority again, the lease is renewed.
  ASSERT_NO_FATAL_FAILURE(Start(1));
  EXPECT_TRUE(WaitFor([&] { return Api(0)->GetWriteLease().Held(std::chrono::steady_clock::now()); }, 3s));
}

}  // namespace
}  // namespace pgvigil

namespace pgvigil {
namespace {

// The VIP guard runs the down command when its owner is SIGKILLed, and only then.
TEST(VipGuard, RunsTheDownCommandWhenTheOwnerIsKilledAndNotWhenDisarmed) {
  fs::path dir = fs::temp_directory_path() / ("pgvigil-guard-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::string killed_file = (dir / "killed").string();
  std::string disarmed_file = (dir / "disarmed").string();

  {
    watchdog::VipGuard g;
    std::string error;
    ASSERT_TRUE(g.Arm({"/usr/bin/touch", disarmed_file}, &error)) << error;
    EXPECT_TRUE(g.armed());
    g.Disarm();
    EXPECT_FALSE(g.armed());
  }

  pid_t owner = fork();
  ASSERT_GE(owner, 0);
  if (owner == 0) {
    watchdog::VipGuard g;
    std::string error;
    if (!g.Arm({"/usr/bin/touch", killed_file}, &error)) _exit(3);
    for (;;) pause();
  }
  std::this_thread::sleep_for(200ms);
  kill(owner, SIGKILL);
  int status = 0;
  waitpid(owner, &status, 0);
  auto end = std::chrono::steady_clock::now() + 3s;
  while (!fs::exists(killed_file) && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(fs::exists(killed_file));
  EXPECT_FALSE(fs::exists(disarmed_file));

  std::string error;
  watchdog::VipGuard relative;
  EXPECT_FALSE(relative.Arm({"touch", killed_file}, &error));
  EXPECT_NE(error.find("absolute"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pgvigil
