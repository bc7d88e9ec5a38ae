// Live membership change on real sidecar parts (agent with its REST API,
// watchdog over loopback UDP, proxy) in one process, as the Kubernetes scale
// 3 -> 4 -> 3 does it (KUBERNETES.md §4.3, §4.4): PUT /v1/node/spec reaches the
// members one after another, a second apart (longer than the write lease), and
//  - every watchdog ends with the new member count and a quorum, the new member
//    included; the proxies accept a routing table naming the new member only
//    once it is a member, forget it when it leaves, and refuse it again after;
//  - member 0 (a primary's host) keeps its write lease through every step: it
//    is never without one (sampled every 2 ms), so its PostgreSQL would never
//    have been fenced (KUBERNETES.md §10, open question 2);
//  - the health checker follows (a backend for the new member, gone after);
//  - a push that changes more than the members is answered restartRequired and
//    changes nothing live; invalid, stale, and not-a-member pushes as documented;
//  - the accepted spec is stored in the state directory with its generation.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <gtest/gtest.h>

#include "common/cluster_state_doc.h"
#include "common/files.h"
#include "common/node_spec_push.h"
#include "common/rest_client.h"
#include "common/routing_table.h"
#include "common/sidecar_status.h"
#include "common/watchdog_detail.h"
#include "common/watchdog_register.h"
#include "common/testing/pg_cluster.h"
#include "sidecar/agent/agent_component.h"
#include "sidecar/agent/spec_update.h"
#include "sidecar/component.h"
#include "sidecar/proxy/proxy_component.h"
#include "sidecar/watchdog/watchdog_api.h"
#include "sidecar/watchdog/watchdog_component.h"

namespace pgvigil {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using web::json::value;

constexpr const char* kToken = "membership-test-token";

class MembershipIT : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("pgvigil-membership-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto secret = [&](const std::string& name, const std::string& text) {
      const std::string path = (dir_ / name).string();
      EXPECT_TRUE(WriteFileAtomic(path, text, 0600).ok());
      return path;
    };
    full_.name = "demo";
    full_.watchdog.authKeyFile = secret("watchdog.key", "membership-test-key\n");
    full_.watchdog.heartbeatInterval = Millis(100);
    full_.watchdog.deadTime = Millis(400);
    full_.api.tokenFile = secret("api.token", std::string(kToken) + "\n");
    full_.api.listen = "127.0.0.1";
    full_.proxy.listen = "127.0.0.1";
    full_.proxy.threads = 1;
    full_.proxy.auth.hbaFile = secret("pool_hba.conf", "host all all 127.0.0.1/32 scram-sha-256\n");
    full_.proxy.auth.passwordFile = secret("pool_passwd", "postgres:TEXTsecret\n");
    full_.healthCheck.period = Millis(200);
    full_.healthCheck.timeout = Millis(300);
    full_.postgres.superuser.passwordFile = secret("postgres.password", "secret\n");
    for (int i = 0; i < 4; ++i) {
      NodeSpec n;
      n.name = "demo-" + std::to_string(i);
      n.host = "127.0.0.1";
      n.port = testing::FreePort();  // nothing listens: health checks fail fast, which is fine here
      n.apiPort = testing::FreePort();
      n.proxyPort = testing::FreePort();
      n.heartbeatPort = testing::FreePort();
      n.watchdogPort = testing::FreePort();
      full_.nodes.push_back(n);
    }
  }

  void TearDown() override {
    for (int i = 3; i >= 0; --i) StopMember(i);
    if (!HasFailure()) fs::remove_all(dir_);
  }

  ClusterSpec WithMembers(int n) const {
    ClusterSpec s = full_;
    s.nodes.resize(size_t(n));
    return s;
  }

  void StartMember(int i, const ClusterSpec& spec, uint64_t generation) {
    auto ctx = std::make_unique<SidecarContext>();
    ctx->spec = spec;
    ctx->nodeName = spec.nodes[size_t(i)].name;
    ctx->stateDir = (dir_ / ctx->nodeName).string();
    ctx->InitMembership(generation);
    auto parts = std::make_unique<std::vector<std::unique_ptr<Component>>>();
    parts->push_back(MakeProxyComponent(*ctx));
    parts->push_back(MakeWatchdogComponent(*ctx));
    parts->push_back(MakeAgentComponent(*ctx, parts.get()));
    for (auto& p : *parts) {
      Status s = p->Start();
      ASSERT_TRUE(s.ok()) << p->name() << ": " << s.message();
    }
    rest_[i] = std::make_unique<RestClient>(spec.ApiUrl(spec.nodes[size_t(i)]), kToken, 3000ms);
    parts_[i] = std::move(parts);
    ctx_[i] = std::move(ctx);
  }

  void StopMember(int i) {
    if (!parts_[i]) return;
    for (auto& p : *parts_[i])
      if (std::string(p->name()) == "watchdog") p->Stop();
    for (auto it = parts_[i]->rbegin(); it != parts_[i]->rend(); ++it) (*it)->Stop();
    parts_[i].reset();
    rest_[i].reset();
    ctx_[i].reset();
  }

  HttpReply Push(int i, const ClusterSpec& spec, uint64_t generation, uint64_t term = 1) {
    auto r = rest_[i]->Put("/v1/node/spec", EncodeSpecPush({term, generation, spec}));
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
    return r.ok() ? *r : HttpReply{};
  }

  // PUT /v1/proxy/routing naming members 0..n-1 (member 0 primary).
  int Routing(int i, int n, uint64_t generation, bool last_down = false) {
    RoutingPublish t{1, {generation, "demo-0", {}}};
    for (int k = 0; k < n; ++k)
      t.table.nodes.push_back({full_.nodes[size_t(k)].name, "127.0.0.1", full_.nodes[size_t(k)].port, 1,
                               !(last_down && k == n - 1)});
    auto r = rest_[i]->Put("/v1/proxy/routing", ToJson(t));
    return r.ok() ? r->status : 0;
  }

  // Every running member's watchdog: `n` members, a quorum, and one leader agreed.
  bool Settled(int n) {
    std::string leader;
    for (int i = 0; i < 4; ++i) {
      if (!parts_[i]) continue;
      const WatchdogDetail d = ctx_[i]->watchdog->Detail();
      if (d.members.size() != size_t(n) || !d.quorum) return false;
      auto l = ctx_[i]->watchdog->GetLeadership();
      if (l.leader.empty() || (!leader.empty() && l.leader != leader)) return false;
      leader = l.leader;
    }
    return true;
  }

  bool HasBackend(int i, const std::string& node) {
    for (const auto& b : ctx_[i]->health->Snapshot())
      if (b.node == node) return true;
    return false;
  }

  static bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (cond()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return cond();
  }

  fs::path dir_;
  ClusterSpec full_;
  std::unique_ptr<SidecarContext> ctx_[4];
  std::unique_ptr<std::vector<std::unique_ptr<Component>>> parts_[4];
  std::unique_ptr<RestClient> rest_[4];
};

// Samples member 0's write lease from its own thread: the longest time it was
// required and over (0: never).
class LeaseWatch {
 public:
  explicit LeaseWatch(WatchdogApi* api) : api_(api), thread_([this] { Run(); }) {}
  ~LeaseWatch() {
    stop_ = true;
    thread_.join();
  }
  int64_t lapses() const { return lapses_; }

 private:
  void Run() {
    while (!stop_) {
      auto l = api_->GetWriteLease();
      if (l.required && l.until <= std::chrono::steady_clock::now()) ++lapses_;
      std::this_thread::sleep_for(2ms);
    }
  }
  WatchdogApi* api_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> lapses_{0};
  std::thread thread_;
};

TEST_F(MembershipIT, ScaleThreeFourThreeOneSidecarAfterAnother) {
  for (int i = 0; i < 3; ++i) StartMember(i, WithMembers(3), 1);
  ASSERT_TRUE(WaitFor([&] { return Settled(3); }, 10s));
  std::this_thread::sleep_for(1s);  // past the start grace: the lease is the contact's now
  EXPECT_EQ(Routing(0, 4, 1), 400) << "demo-3 is no member yet";
  LeaseWatch lease(ctx_[0]->watchdog);

  // 3 -> 4: pushed to demo-0, demo-1, demo-2 a second apart, then demo-3 starts.
  for (int i = 0; i < 3; ++i) {
    HttpReply r = Push(i, WithMembers(4), 2);
    ASSERT_EQ(r.status, 200) << r.text;
    EXPECT_EQ(r.body.at("outcome").as_string(), "applied") << r.text;
    EXPECT_EQ(r.body.at("generation").as_number().to_uint64(), 2u);
    std::this_thread::sleep_for(1s);
    EXPECT_TRUE(ctx_[0]->watchdog->GetLeadership().leaderWithQuorum || ctx_[1]->watchdog->GetLeadership().leaderWithQuorum ||
                ctx_[2]->watchdog->GetLeadership().leaderWithQuorum)
        << "no leader with quorum after pushing to demo-" << i;
  }
  EXPECT_EQ(Push(0, WithMembers(4), 2).body.at("outcome").as_string(), "stale");
  StartMember(3, WithMembers(4), 2);
  ASSERT_TRUE(WaitFor([&] { return Settled(4); }, 10s)) << ToJson(ctx_[0]->watchdog->Detail()).serialize();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Routing(i, 4, 2), 200) << "demo-" << i;
  EXPECT_TRUE(WaitFor([&] { return HasBackend(0, "demo-3"); }, 2s));
  EXPECT_EQ(ctx_[0]->watchdog->Detail().members.size(), 4u);

  // Refusals change nothing.
  ClusterSpec other = WithMembers(4);
  other.proxy.port = 6543;
  HttpReply rr = Push(1, other, 3);
  ASSERT_EQ(rr.status, 200) << rr.text;
  EXPECT_TRUE(rr.body.at("restartRequired").as_bool());
  EXPECT_EQ(rr.body.at("field").as_string(), "spec.proxy.port");
  ClusterSpec bad = WithMembers(4);
  bad.nodes[3].heartbeatPort = 70000;
  HttpReply invalid = Push(0, bad, 4);
  EXPECT_EQ(invalid.status, 400) << invalid.text;
  EXPECT_EQ(invalid.body.at("field").as_string(), "spec.nodes[3].heartbeatPort") << invalid.text;
  ClusterSpec without0 = WithMembers(4);
  without0.nodes.erase(without0.nodes.begin());
  EXPECT_EQ(Push(0, without0, 4).status, 409);
  EXPECT_EQ(Push(0, WithMembers(4), 4, /*term=*/0).status, 409);  // older than the term seen (1)
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(Settled(4));

  // 4 -> 3: demo-3 leaves routing (the controller's table keeps a detached node,
  // down), then the membership (a second apart), then it stops.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Routing(i, 4, 3, /*last_down=*/true), 200);
  for (int i = 0; i < 3; ++i) {
    HttpReply r = Push(i, WithMembers(3), 5);
    ASSERT_EQ(r.status, 200) << r.text;
    // demo-1 stored generation 3 (restartRequired) but runs the start-up spec:
    // against that, only the members differ.
    EXPECT_EQ(r.body.at("outcome").as_string(), "applied") << r.text;
    std::this_thread::sleep_for(1s);
  }
  StopMember(3);
  ASSERT_TRUE(WaitFor([&] { return Settled(3); }, 10s)) << ToJson(ctx_[0]->watchdog->Detail()).serialize();
  // The installed tables forgot demo-3 when it left the membership.
  for (int i = 0; i < 3; ++i) {
    auto routing = rest_[i]->Get("/v1/proxy/routing");
    ASSERT_TRUE(routing.ok());
    EXPECT_EQ(routing->body.at("nodes").size(), 3u) << "demo-" << i << ": " << routing->text;
  }
  EXPECT_EQ(Routing(0, 4, 4), 400) << "demo-3 is no member any more";
  EXPECT_TRUE(WaitFor([&] { return !HasBackend(0, "demo-3"); }, 2s));
  EXPECT_EQ(lease.lapses(), 0) << "demo-0's write lease ran out during the membership changes";

  auto stored = LoadStoredSpec(ctx_[0]->stateDir);
  ASSERT_TRUE(stored.ok()) << stored.error();
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->generation, 5u);
  EXPECT_EQ((*stored)->spec.nodes.size(), 3u);
}

// What real sidecars serve of their watchdog is the contract of
// common/watchdog_detail.h to the byte: GET /v1/watchdog is a WatchdogDetail and
// components.watchdog of GET /v1/status a WatchdogSummary, each read without a
// note and written again unchanged, on every member of a settled cluster.
TEST_F(MembershipIT, WatchdogBodiesAreTheWatchdogDetailContract) {
  for (int i = 0; i < 3; ++i) StartMember(i, WithMembers(3), 1);
  ASSERT_TRUE(WaitFor([&] { return Settled(3); }, 10s));
  std::this_thread::sleep_for(1s);  // past the start grace: every member heard, leases known
  for (int i = 0; i < 3; ++i) {
    auto r = rest_[i]->Get("/v1/watchdog");
    ASSERT_TRUE(r.ok()) << r.error();
    ASSERT_EQ(r->status, 200) << r->text;
    std::vector<std::string> notes;
    auto d = WatchdogDetailFromJson(r->body, &notes);
    ASSERT_TRUE(d.ok()) << d.error();
    EXPECT_TRUE(notes.empty()) << notes.front();
    EXPECT_EQ(ToJson(*d).serialize(), r->text);
    EXPECT_EQ(d->node, "demo-" + std::to_string(i));
    EXPECT_TRUE(d->quorum);
    EXPECT_FALSE(d->leader.empty());
    ASSERT_EQ(d->members.size(), 3u);
    ASSERT_EQ(d->backends.size(), 3u);
    for (int m = 0; m < 3; ++m) {
      const WatchdogMember& x = d->members[size_t(m)];
      EXPECT_EQ(x.self, m == i);
      EXPECT_TRUE(x.lastHeardShown);
      EXPECT_TRUE(x.lastHeardMs.has_value()) << "demo-" << i << " never heard demo-" << m;
      EXPECT_EQ(x.ownLease.has_value(), m == i);
      EXPECT_EQ(x.contact.has_value(), m != i);
      if (x.contact) {
        EXPECT_NE(x.contact->address.value_or("").find("127.0.0.1"), std::string::npos);
      }
    }

    auto st = rest_[i]->Get("/v1/status");
    ASSERT_TRUE(st.ok()) << st.error();
    ASSERT_EQ(st->status, 200) << st->text;
    auto status = SidecarStatusFromJson(st->body, &notes);
    ASSERT_TRUE(status.ok()) << status.error();
    EXPECT_EQ(ToJson(*status).serialize(), st->text);
    ASSERT_EQ(status->components.count("watchdog"), 1u) << st->text;
    const value& raw = status->components.at("watchdog");
    const WatchdogSummary summary = WatchdogSummaryFromJson(raw, &notes);
    EXPECT_TRUE(notes.empty()) << notes.front();
    EXPECT_EQ(ToJson(summary).serialize(), raw.serialize());
    EXPECT_EQ(summary.members.size(), 3u);
    EXPECT_EQ(summary.term, d->term);
  }
}

// What real sidecars take and serve of their routing is the contract of
// common/routing_table.h to the byte: a RoutingPublish written with ToJson is
// taken, and both the PUT answer and GET /v1/proxy/routing (the table in
// effect: the published generation and nodes, up and primary as the proxy's
// health checks allow) read as a RoutingTable without a note and are written
// again unchanged.
TEST_F(MembershipIT, RoutingBodiesAreTheRoutingTableContract) {
  for (int i = 0; i < 3; ++i) StartMember(i, WithMembers(3), 1);
  ASSERT_TRUE(WaitFor([&] { return Settled(3); }, 10s));
  RoutingPublish p{1, {5, "demo-0", {}}};
  for (int k = 0; k < 3; ++k)
    p.table.nodes.push_back({full_.nodes[size_t(k)].name, "127.0.0.1", full_.nodes[size_t(k)].port, k, k != 2});
  // One answer: a RoutingTable read without a note, written again to the byte,
  // with the published generation and nodes.
  auto check = [&](const Result<HttpReply>& r, const char* what) {
    ASSERT_TRUE(r.ok()) << what << ": " << r.error();
    ASSERT_EQ(r->status, 200) << what << ": " << r->text;
    std::vector<std::string> notes;
    auto table = RoutingTableFromJson(r->body, &notes);
    ASSERT_TRUE(table.ok()) << what << ": " << table.error();
    EXPECT_TRUE(notes.empty()) << what << ": " << notes.front();
    EXPECT_EQ(ToJson(*table).serialize(), r->text) << what;
    EXPECT_EQ(table->generation, 5u) << what;
    ASSERT_EQ(table->nodes.size(), 3u) << what;
    for (size_t k = 0; k < 3; ++k) {
      EXPECT_EQ(table->nodes[k].name, p.table.nodes[k].name) << what;
      EXPECT_EQ(table->nodes[k].port, p.table.nodes[k].port) << what;
      EXPECT_EQ(table->nodes[k].weight, p.table.nodes[k].weight) << what;
    }
  };
  for (int i = 0; i < 3; ++i) {
    check(rest_[i]->Put("/v1/proxy/routing", ToJson(p)), "PUT");
    check(rest_[i]->Get("/v1/proxy/routing"), "GET");
  }
}

// The cluster-state document (common/cluster_state_doc.h) on real sidecars: the
// controller's document, stored through the watchdog leader's agent, is served
// back by every member to the byte (GET /v1/watchdog/register: the register and
// its document read by both readers without a note and written again
// unchanged), and every member's proxy fences writes as the document says: the
// published generation and primary leave them open, a newer generation naming
// another primary or a fenced primary closes them, and so does a document whose
// "fe" the fence cannot read (it is not read as "nothing fenced").
TEST_F(MembershipIT, ClusterStateDocumentIsOneContractForControllerAndProxies) {
  for (int i = 0; i < 3; ++i) StartMember(i, WithMembers(3), 1);
  ASSERT_TRUE(WaitFor([&] { return Settled(3); }, 10s));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Routing(i, 3, 5), 200);
  // Stored by the one member that is the watchdog leader (the others 409).
  auto store = [&](const value& doc) {
    int taken = 0;
    for (int i = 0; i < 3; ++i) {
      auto r = rest_[i]->Put("/v1/watchdog/register", ToJson(WatchdogRegisterWrite{1, doc, uint64_t(3000)}));
      if (r.ok() && r->status == 200) ++taken;
    }
    return taken;
  };
  auto reason = [&](int i) {
    auto r = rest_[i]->Get("/v1/status");
    if (!r.ok() || !r->body.has_object_field("components") || !r->body.at("components").has_field("proxy"))
      return std::string("no status");
    return ProxySummaryFromJson(r->body.at("components").at("proxy")).noPrimaryReason.value_or("");
  };
  // Every member's proxy: its reason for no primary contains `part` ("": names no cluster state).
  auto fenced_by = [&](const std::string& part) {
    return WaitFor([&] {
      for (int i = 0; i < 3; ++i) {
        const std::string why = reason(i);
        if (part.empty() ? why.find("cluster state") != std::string::npos || why.find("in sync") != std::string::npos
                         : why.find(part) == std::string::npos)
          return false;
      }
      return true;
    }, 5s);
  };
  auto why_all = [&] { return reason(0) + " | " + reason(1) + " | " + reason(2); };

  ClusterStateDoc d;
  d.version = 7;
  d.primary = "demo-0";
  d.timeline = 1;
  d.routingGeneration = 5;
  d.routedPrimary = "demo-0";
  d.routedStandbys = {"demo-1", "demo-2"};
  d.routedWeights = {1, 1};
  d.synchronousStandbys = {"demo-1"};
  d.synchronousCount = 1;
  d.detached = {"demo-3"};
  d.transition = ClusterStateTransitionDoc{2, "demo-1", "demo-0", 1, 1764111111111, 0};
  const value agreed = ToJson(d);
  ASSERT_EQ(store(agreed), 1);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(WaitFor([&] {
      auto r = rest_[i]->Get("/v1/watchdog/register");
      return r.ok() && r->status == 200 && r->body.at("doc").serialize() == agreed.serialize();
    }, 5s)) << "member " << i;
    auto r = rest_[i]->Get("/v1/watchdog/register");
    ASSERT_TRUE(r.ok()) << r.error();
    std::vector<std::string> notes;
    auto reg = WatchdogRegisterValueFromJson(r->body, &notes);
    ASSERT_TRUE(reg.ok()) << reg.error();
    const ClusterStateDoc tolerant = ClusterStateDocFromJson(reg->doc, &notes);
    EXPECT_TRUE(notes.empty()) << notes.front();
    auto strict = ClusterStateDocFromJsonStrict(reg->doc);
    ASSERT_TRUE(strict.ok()) << strict.error();
    EXPECT_TRUE(*strict == d && tolerant == d) << "member " << i;
    reg->doc = ToJson(tolerant);
    EXPECT_EQ(ToJson(*reg).serialize(), r->text) << "member " << i;
  }
  EXPECT_TRUE(fenced_by("")) << why_all();

  ClusterStateDoc failover = d;  // decided, written before it is published
  failover.routingGeneration = 6;
  failover.routedPrimary = "demo-1";
  ASSERT_EQ(store(ToJson(failover)), 1);
  EXPECT_TRUE(fenced_by("names 'demo-1'")) << why_all();

  ClusterStateDoc fenced = d;
  fenced.fenced = {"demo-0"};
  ASSERT_EQ(store(ToJson(fenced)), 1);
  EXPECT_TRUE(fenced_by("primary demo-0 is fenced in the cluster state")) << why_all();

  ASSERT_EQ(store(agreed), 1);
  EXPECT_TRUE(fenced_by("")) << why_all();
  value garbled = ToJson(fenced);
  garbled["fe"] = value::string("demo-0");
  ASSERT_EQ(store(garbled), 1);
  EXPECT_TRUE(fenced_by("cluster state in the watchdog register cannot be read (fe: not a list)")) << why_all();

  ASSERT_EQ(store(agreed), 1);
  EXPECT_TRUE(fenced_by("")) << why_all();
}

}  // namespace
}  // namespace pgvigil
