// The controller's REST API and vigilctl against real parts on loopback: three
// PostgreSQL 15 servers (common/testing/pg_cluster.h), a pgvigil-sidecar per node
// (proxy on, watchdog off) and one standalone pgvigil-controller, all started as
// child processes of this test on free 127.0.0.1 ports. What a user relies on:
// status reaches Healthy and vigilctl shows the same; a bad spec is refused with
// positions and changes nothing; mutations need the token; detach/attach move a
// node out of/into routing; switchover loses no committed row; a crashed primary
// is replaced and the old one rebuilt (automatically, or by `vigilctl recover`);
// and at no sampled instant are two nodes writable.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <functional>
#include <memory>
#include <regex>
#include <set>
#include <thread>

#include "common/files.h"
#include "common/process.h"
#include "common/pool_nodes_doc.h"
#include "common/rest_client.h"
#include "common/spec_parser.h"
#include "common/testing/pg_cluster.h"
#include "controller/status/cluster_status.h"
#include "controller/testing/child_process.h"

namespace pgvigil {
namespace {

using testing::ChildProcess;
using testing::FreePort;
using testing::PgTestCluster;
using testing::WritableSampler;
using web::json::value;
using Clock = std::chrono::steady_clock;

const char* kToken = "controller-api-test-token";

bool HasText(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// Replaces the first occurrence of `from` (which must exist) in `text`.
std::string ReplaceOnce(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "'" << from << "' not in:\n" << text;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

class ControllerApiIT : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = PgTestCluster::Create();
    ASSERT_TRUE(c.ok()) << c.error();
    pg_ = std::move(c.value());
    spec_ = pg_->MakeSpecOnFreePorts();  // so this test can run beside others
    spec_.primary = "";  // keep whichever node is primary (node0 at the start)
    spec_.healthCheck.period = Millis(250);
    spec_.healthCheck.timeout = Millis(1000);
    spec_.healthCheck.maxRetries = 1;
    spec_.healthCheck.retryDelay = Millis(100);
    spec_.api.tokenFile = pg_->dir() + "/secrets/api.token";
    ASSERT_TRUE(WriteFileAtomic(spec_.api.tokenFile, std::string(kToken) + "\n", 0600).ok());
    tokenFile_ = spec_.api.tokenFile;
    // The proxies log in to the backends with pool_passwd's password; clients
    // prove the same password with scram-sha-256 (the default without a hba file).
    spec_.proxy.auth.passwordFile = pg_->dir() + "/secrets/pool_passwd";
    ASSERT_TRUE(WriteFileAtomic(spec_.proxy.auth.passwordFile,
                                "postgres:TEXT" + pg_->superPassword() + "\n", 0600)
                    .ok());
    specPath_ = pg_->dir() + "/cluster.yaml";
    ASSERT_TRUE(WriteFileAtomic(specPath_, SpecToYaml(spec_), 0644).ok());
    url_ = "http://127.0.0.1:" + std::to_string(spec_.api.controllerPort);

    // The controller first: sidecars that come up later must still get routing.
    std::string err;
    controller_ = std::make_unique<ChildProcess>();
    ASSERT_TRUE(controller_->Start({PGVIGIL_CONTROLLER_BIN, "-f", specPath_, "--node", "node0",
                                    "--standalone", "--state-dir", pg_->dir() + "/controller",
                                    "--listen", "127.0.0.1"},
                                   pg_->dir() + "/controller.log", &err))
        << err;
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    for (size_t i = 0; i < spec_.nodes.size(); ++i) {
      auto sc = StartSidecar(spec_.nodes[i].name, "");
      ASSERT_NE(sc, nullptr);
      sidecars_.push_back(std::move(sc));
    }
    std::vector<WritableSampler::Target> targets;
    for (const auto& n : pg_->nodes())
      targets.push_back({n.name, "host=" + n.socketDir + " port=" + std::to_string(n.port) +
                                     " user=postgres dbname=postgres connect_timeout=1"});
    sampler_ = std::make_unique<WritableSampler>(targets, 100);
    sampler_->Start();

    ASSERT_TRUE(WaitStatus(
        [](const ClusterStatus& s) {
          return s.phase == "Healthy" && s.primary == "node0" && StreamingStandbys(s) == 2 &&
                 s.routingGeneration > 0;
        },
        60000, "Healthy with node0 primary and two streaming standbys"));
    for (int i = 0; i < 3; ++i)
      ASSERT_TRUE(WaitFor([&] { return RoutingGeneration(i) >= 1; }, 20000))
          << "sidecar " << i << " never got a routing table from the controller: "
          << Routing(i).serialize();
  }

  void TearDown() override {
    if (sampler_) {
      sampler_->Stop();
      EXPECT_TRUE(sampler_->violations().empty())
          << "two writable nodes at once: " << sampler_->violations().front();
      EXPECT_GT(sampler_->rounds(), 20) << "slowest round " << sampler_->maxRoundMs() << " ms";
      EXPECT_GT(sampler_->roundsWithOnePrimary(), sampler_->rounds() / 2);
    }
    if (HasFailure()) {
      if (controller_)
        std::cerr << "--- controller (" << (controller_->Alive() ? "running" : "EXITED")
                  << ") log tail:\n" << controller_->LogTail(80);
      for (auto& sc : sidecars_)
        std::cerr << "--- " << sc->logPath() << " (" << (sc->Alive() ? "running" : "EXITED")
                  << ") tail:\n" << sc->LogTail(40);
      auto s = GetStatus();
      if (s.ok()) std::cerr << "--- last status:\n" << RenderStatusTable(*s);
    }
    if (controller_) controller_->Stop();
    for (auto& sc : sidecars_) sc->Stop();
    sidecars_.clear();
    pg_.reset();
  }

  // The sidecar of node `name` from the spec file, its log sidecar-NAME<suffix>.log;
  // null (and a test failure) when it does not start.
  std::unique_ptr<ChildProcess> StartSidecar(const std::string& name, const std::string& log_suffix) {
    std::string err;
    auto sc = std::make_unique<ChildProcess>();
    if (sc->Start({PGVIGIL_SIDECAR_BIN, "-f", specPath_, "--node", name, "--state-dir", pg_->dir() + "/state-" + name,
                   "--no-watchdog", "--log-level", "debug"},
                  pg_->dir() + "/sidecar-" + name + log_suffix + ".log", &err))
      return sc;
    ADD_FAILURE() << "sidecar " << name << ": " << err;
    return nullptr;
  }

  static int StreamingStandbys(const ClusterStatus& s) {
    int n = 0;
    for (const auto& node : s.nodes)
      if (node.name != s.primary && node.role == "standby" && node.replicationState == "streaming" &&
          node.state == "up")
        ++n;
    return n;
  }
  static const NodeStatus* Node(const ClusterStatus& s, const std::string& name) {
    for (const auto& n : s.nodes)
      if (n.name == name) return &n;
    return nullptr;
  }

  Result<ClusterStatus> GetStatus() {
    RestClient c(url_, "", std::chrono::milliseconds(3000));
    auto r = c.Get("/v1/status");
    if (!r.ok()) return r.status();
    if (r->status != 200) return Result<ClusterStatus>::Error(DescribeFailure(*r));
    return ClusterStatusFromJson(r->body);
  }

  // Polls the controller's status every 200 ms until `pred` holds.
  bool WaitStatus(const std::function<bool(const ClusterStatus&)>& pred, int timeout_ms,
                  const std::string& what) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    std::string last = "(no status)";
    while (Clock::now() < deadline) {
      auto s = GetStatus();
      if (s.ok()) {
        if (pred(*s)) return true;
        last = RenderStatusTable(*s);
      } else {
        last = s.error();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ADD_FAILURE() << "timed out after " << timeout_ms << " ms waiting for: " << what
                  << "\nlast status:\n" << last;
    return false;
  }

  static bool WaitFor(const std::function<bool()>& pred, int timeout_ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return pred();
  }

  // vigilctl ARGS --controller URL; output (stdout+stderr) in outputTail.
  ProcessResult Vigilctl(std::vector<std::string> args, bool with_token = false) {
    std::vector<std::string> argv = {PGVIGIL_VIGILCTL_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--controller");
    argv.push_back(url_);
    if (with_token) {
      argv.push_back("--token-file");
      argv.push_back(tokenFile_);
    }
    ProcessOptions o;
    o.timeout = std::chrono::milliseconds(120000);
    o.tailLines = 2000;
    auto r = RunProcess(argv, o);
    EXPECT_TRUE(r.ok()) << r.error();
    return r.ok() ? *r : ProcessResult{};
  }

  // A sidecar's GET /v1/proxy/routing.
  value Routing(int node) {
    RestClient c("http://127.0.0.1:" + std::to_string(spec_.nodes[node].apiPort), "",
                 std::chrono::milliseconds(3000));
    auto r = c.Get("/v1/proxy/routing");
    if (!r.ok() || r->status != 200) return value::null();
    return r->body;
  }
  // Whether `node_name` is routed (up) in sidecar `node`'s routing table; absent = false.
  bool RoutedUp(int node, const std::string& node_name) {
    value r = Routing(node);
    if (!r.is_object() || !r.has_field("nodes")) return false;
    for (const auto& n : r.at("nodes").as_array())
      if (n.at("name").as_string() == node_name) return n.at("up").as_bool();
    return false;
  }
  uint64_t RoutingGeneration(int node) {
    value r = Routing(node);
    return r.is_object() && r.has_field("generation") ? r.at("generation").as_number().to_uint64() : 0;
  }

  // `sessions` separate client sessions through sidecar `node`'s proxy, each running
  // one read (balanced per session). Returns how many succeeded.
  // A read the proxy balances (catalog reads go to the primary, as in Pgpool-II).
  int ProxyReads(int node, int sessions) {
    std::string ci = "host=127.0.0.1 port=" + std::to_string(spec_.nodes[node].proxyPort) +
                     " user=postgres password=" + pg_->superPassword() + " dbname=postgres sslmode=disable gssencmode=disable connect_timeout=5";
    int ok = 0;
    for (int i = 0; i < sessions; ++i) {
      PGconn* c = PQconnectdb(ci.c_str());
      if (PQstatus(c) == CONNECTION_OK) {
        PGresult* r = PQexec(c, "SELECT count(*) FROM generate_series(1, 10)");
        if (PQresultStatus(r) == PGRES_TUPLES_OK) ++ok;
        else ADD_FAILURE() << "read via proxy: " << PQerrorMessage(c);
        PQclear(r);
      } else {
        ADD_FAILURE() << "connect via proxy: " << PQerrorMessage(c);
      }
      PQfinish(c);
    }
    return ok;
  }
  // select_cnt for `node_name` summed over every sidecar's GET /v1/proxy/pool_nodes.
  uint64_t ProxySelectCount(const std::string& node_name) {
    int idx = Index(node_name);
    uint64_t sum = 0;
    for (size_t i = 0; i < spec_.nodes.size(); ++i) {
      RestClient c("http://127.0.0.1:" + std::to_string(spec_.nodes[i].apiPort), "",
                   std::chrono::milliseconds(3000));
      auto r = c.Get("/v1/proxy/pool_nodes");
      if (!r.ok() || r->status != 200) continue;
      // The rows are common/pool_nodes_doc.h's to the byte.
      std::vector<std::string> notes;
      const std::vector<PoolNodeRow> rows = PoolNodesFromJson(r->body, &notes);
      EXPECT_TRUE(notes.empty()) << notes.front();
      EXPECT_EQ(ToJson(rows).serialize(), r->text);
      EXPECT_EQ(rows.size(), spec_.nodes.size()) << r->text;
      for (const PoolNodeRow& row : rows)
        if (row.port == std::to_string(spec_.nodes[idx].port)) sum += std::stoull(row.selectCnt);
    }
    return sum;
  }

  int Index(const std::string& name) {
    for (size_t i = 0; i < spec_.nodes.size(); ++i)
      if (spec_.nodes[i].name == name) return static_cast<int>(i);
    return -1;
  }
  std::string Q(int node, const std::string& sql) {
    auto r = pg_->Query(node, sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.error();
    return r.ok() ? *r : std::string("<error>");
  }
  // Waits until every other running node has replayed the primary's current WAL.
  void WaitReplayed(int primary) {
    std::string lsn = Q(primary, "SELECT pg_current_wal_lsn()");
    for (int i = 0; i < static_cast<int>(spec_.nodes.size()); ++i) {
      if (i == primary) continue;
      EXPECT_TRUE(WaitFor(
          [&] {
            auto r = pg_->Query(i, "SELECT pg_last_wal_replay_lsn() >= '" + lsn + "'::pg_lsn");
            return r.ok() && *r == "t";
          },
          20000))
          << spec_.nodes[i].name << " did not replay up to " << lsn;
    }
  }

  std::unique_ptr<PgTestCluster> pg_;
  ClusterSpec spec_;
  std::string specPath_, tokenFile_, url_;
  std::vector<std::unique_ptr<ChildProcess>> sidecars_;
  std::unique_ptr<ChildProcess> controller_;
  std::unique_ptr<WritableSampler> sampler_;
};

// 1-4: status and vigilctl agree; spec validation; the token; detach/attach.
TEST_F(ControllerApiIT, StatusSpecTokenAndRouting) {
  // --- 1. status, and vigilctl's three renderings of it.
  auto st = GetStatus();
  ASSERT_TRUE(st.ok()) << st.error();
  EXPECT_EQ(st->phase, "Healthy");
  EXPECT_EQ(st->primary, "node0");
  EXPECT_EQ(st->timeline, 1u);
  EXPECT_GT(st->routingGeneration, 0u);
  ASSERT_EQ(st->nodes.size(), 3u);
  EXPECT_EQ(Node(*st, "node0")->role, "primary");
  EXPECT_EQ(Node(*st, "node0")->pgRole, "primary");
  for (const char* s : {"node1", "node2"}) {
    EXPECT_EQ(Node(*st, s)->role, "standby") << s;
    EXPECT_EQ(Node(*st, s)->replicationState, "streaming") << s;
    EXPECT_EQ(Node(*st, s)->upstream, "node0") << s;
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_GE(RoutingGeneration(i), 1u) << "sidecar " << i << " has no routing";
    EXPECT_EQ(Routing(i).at("primary").as_string(), "node0");
  }

  auto json = Vigilctl({"status", "-o", "json"});
  ASSERT_EQ(json.exitCode, 0) << json.outputTail;
  value jv = value::parse(json.outputTail);
  auto js = ClusterStatusFromJson(jv);
  ASSERT_TRUE(js.ok()) << js.error();
  EXPECT_EQ(js->phase, "Healthy");
  EXPECT_EQ(js->primary, "node0");
  EXPECT_EQ(js->nodes.size(), 3u);

  auto table = Vigilctl({"status"});
  ASSERT_EQ(table.exitCode, 0) << table.outputTail;
  EXPECT_TRUE(HasText(table.outputTail, "phase:      Healthy")) << table.outputTail;
  EXPECT_TRUE(HasText(table.outputTail, "primary:    node0 (timeline 1")) << table.outputTail;
  for (const auto& n : js->nodes) {
    // One row per node: name | address | role | state ...
    std::regex row(" " + n.name + " +\\| 127\\.0\\.0\\.1:" + std::to_string(n.port) + " +\\| " +
                   n.role + " +\\| " + n.state + " ");
    EXPECT_TRUE(std::regex_search(table.outputTail, row))
        << "no row for " << n.name << " as " << n.role << "/" << n.state << " in:\n"
        << table.outputTail;
  }
  // No watchdog, no VIP in this spec: the table says so instead of "VIP on (nobody)".
  EXPECT_TRUE(HasText(table.outputTail, "watchdog:   disabled (standalone controller), no VIP configured"))
      << table.outputTail;
  EXPECT_FALSE(js->watchdogEnabled);

  auto pool = Vigilctl({"status", "-o", "pool_nodes"});
  ASSERT_EQ(pool.exitCode, 0) << pool.outputTail;
  EXPECT_TRUE(HasText(pool.outputTail, " node_id | hostname  | port ")) << pool.outputTail;
  EXPECT_TRUE(HasText(pool.outputTail, "(3 rows)")) << pool.outputTail;
  std::regex primary_row(" 0 +\\| 127\\.0\\.0\\.1 \\| " + std::to_string(spec_.nodes[0].port) +
                         " +\\| up +\\| up +\\| 1 +\\| primary \\| primary ");
  EXPECT_TRUE(std::regex_search(pool.outputTail, primary_row)) << pool.outputTail;

  // No controller there: a clear failure, not an empty table.
  {
    std::string nowhere = "http://127.0.0.1:" + std::to_string(FreePort());
    auto r = RunProcess({PGVIGIL_VIGILCTL_BIN, "status", "--controller", nowhere});
    ASSERT_TRUE(r.ok());
    EXPECT_NE(r->exitCode, 0);
    EXPECT_TRUE(HasText(r->outputTail, nowhere)) << r->outputTail;
  }

  auto yaml = Vigilctl({"status", "-o", "yaml"});
  ASSERT_EQ(yaml.exitCode, 0) << yaml.outputTail;
  EXPECT_TRUE(HasText(yaml.outputTail, "phase: \"Healthy\"")) << yaml.outputTail;

  RestClient anon(url_, "", std::chrono::milliseconds(5000));
  auto metrics = anon.Get("/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.error();
  EXPECT_EQ(metrics->status, 200);
  EXPECT_TRUE(HasText(metrics->text, "pgvigil_cluster_phase{phase=\"Healthy\"} 1")) << metrics->text;
  EXPECT_TRUE(HasText(metrics->text, "pgvigil_node_primary{node=\"node0\"} 1")) << metrics->text;
  EXPECT_TRUE(HasText(metrics->text, "pgvigil_node_streaming{node=\"node2\"} 1")) << metrics->text;

  // --- 2. a bad spec is refused with positions and changes nothing.
  RestClient authed(url_, kToken, std::chrono::milliseconds(10000));
  auto spec_before = anon.Get("/v1/spec");
  ASSERT_TRUE(spec_before.ok()) << spec_before.error();
  ASSERT_EQ(spec_before->status, 200);
  auto file_before = ReadFile(specPath_);
  ASSERT_TRUE(file_before.ok());
  std::string good_yaml = *file_before;
  ASSERT_TRUE(ParseSpec(good_yaml, "good").ok()) << ParseSpec(good_yaml, "good").ErrorText();
  // Unknown field and an unparseable duration.
  std::string bad_yaml = ReplaceOnce(good_yaml, "period: \"250ms\"", "period: \"3 fortnights\"");
  bad_yaml = ReplaceOnce(bad_yaml, "  healthCheck:\n", "  colour: blue\n  healthCheck:\n");
  auto events_before = GetStatus()->events.size();
  auto bad = authed.PutText("/v1/spec", bad_yaml);
  ASSERT_TRUE(bad.ok()) << bad.error();
  EXPECT_EQ(bad->status, 400) << bad->text;
  ASSERT_TRUE(bad->body.is_object() && bad->body.has_field("errors")) << bad->text;
  std::string errors;
  for (const auto& e : bad->body.at("errors").as_array()) errors += e.as_string() + "\n";
  EXPECT_TRUE(std::regex_search(errors, std::regex("request body:[0-9]+:[0-9]+: spec\\.healthCheck\\.period: ")))
      << errors;
  EXPECT_TRUE(std::regex_search(errors, std::regex("request body:[0-9]+:[0-9]+: spec\\.colour: ")))
      << errors;
  auto spec_after = anon.Get("/v1/spec");
  ASSERT_TRUE(spec_after.ok());
  EXPECT_EQ(spec_after->text, spec_before->text);
  EXPECT_EQ(*ReadFile(specPath_), good_yaml);
  auto st_after_bad = GetStatus();
  ASSERT_TRUE(st_after_bad.ok());
  EXPECT_EQ(st_after_bad->primary, "node0");
  EXPECT_EQ(st_after_bad->phase, "Healthy");
  for (size_t i = events_before; i < st_after_bad->events.size(); ++i)
    EXPECT_NE(st_after_bad->events[i].action, "spec") << st_after_bad->events[i].reason;

  std::string bad_path = pg_->dir() + "/bad.yaml";
  ASSERT_TRUE(WriteFileAtomic(bad_path, bad_yaml, 0644).ok());
  auto apply_bad = Vigilctl({"apply", "-f", bad_path}, true);
  EXPECT_NE(apply_bad.exitCode, 0) << apply_bad.outputTail;
  EXPECT_TRUE(std::regex_search(apply_bad.outputTail,
                                std::regex(bad_path + ":[0-9]+:[0-9]+: spec\\.healthCheck\\.period: ")))
      << apply_bad.outputTail;
  EXPECT_TRUE(HasText(apply_bad.outputTail, "nothing was applied")) << apply_bad.outputTail;
  EXPECT_EQ(*ReadFile(specPath_), good_yaml);

  // A spec for another cluster is refused too.
  auto other = authed.PutText("/v1/spec", ReplaceOnce(good_yaml, "name: \"test\"", "name: \"other\""));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->status, 400) << other->text;
  EXPECT_EQ(*ReadFile(specPath_), good_yaml);

  // A valid change: node2's weight, applied with vigilctl (token from the spec's api.tokenFile).
  ClusterSpec heavier = spec_;
  heavier.nodes[2].weight = 3;
  heavier.primary = "node0";  // desired primary: a switchover elsewhere is refused below
  std::string good_path = pg_->dir() + "/heavier.yaml";
  ASSERT_TRUE(WriteFileAtomic(good_path, SpecToYaml(heavier), 0644).ok());
  auto apply_good = Vigilctl({"apply", "-f", good_path});
  EXPECT_EQ(apply_good.exitCode, 0) << apply_good.outputTail;
  EXPECT_TRUE(WaitStatus([](const ClusterStatus& s) { return Node(s, "node2")->weight == 3; }, 10000,
                         "node2 weight 3 in status"));
  EXPECT_EQ(*ReadFile(specPath_), SpecToYaml(heavier)) << "the applied spec is written back";
  auto spec_now = anon.Get("/v1/spec");
  ASSERT_TRUE(spec_now.ok());
  auto parsed_now = ParseSpec(spec_now->text, "GET /v1/spec");
  ASSERT_TRUE(parsed_now.ok()) << parsed_now.ErrorText();
  EXPECT_EQ(parsed_now.spec->nodes[2].weight, 3);
  // ... and reaches the proxies' routing.
  EXPECT_TRUE(WaitFor(
      [&] {
        value r = Routing(1);
        if (!r.is_object()) return false;
        for (const auto& n : r.at("nodes").as_array())
          if (n.at("name").as_string() == "node2") return n.at("weight").as_integer() == 3;
        return false;
      },
      10000))
      << Routing(1).serialize();
  spec_ = heavier;
  // The same API takes JSON: node2's weight back to 2 that way.
  ClusterSpec json_spec = heavier;
  json_spec.nodes[2].weight = 2;
  auto put_json = authed.PutText("/v1/spec", SpecToJson(json_spec), "application/json");
  ASSERT_TRUE(put_json.ok());
  EXPECT_EQ(put_json->status, 200) << put_json->text;
  EXPECT_TRUE(WaitStatus([](const ClusterStatus& s) { return Node(s, "node2")->weight == 2; }, 10000,
                         "node2 weight 2 after a JSON spec"));
  auto reloaded = LoadSpecFile(specPath_);
  ASSERT_TRUE(reloaded.ok()) << "the spec written back does not load: " << reloaded.ErrorText();
  EXPECT_EQ(*reloaded.spec, json_spec);
  spec_ = json_spec;

  // --- 3. mutations need the token; unknown nodes are named.
  uint64_t gen = GetStatus()->routingGeneration;
  RestClient wrong(url_, "not-the-token", std::chrono::milliseconds(5000));
  value to_node1 = value::object();
  to_node1["to"] = value::string("node1");
  for (RestClient* c : {&anon, &wrong}) {
    auto r1 = c->Post("/v1/switchover", to_node1);
    ASSERT_TRUE(r1.ok());
    EXPECT_EQ(r1->status, 401) << r1->text;
    auto r2 = c->Post("/v1/nodes/node1/detach", value::object());
    ASSERT_TRUE(r2.ok());
    EXPECT_EQ(r2->status, 401) << r2->text;
    auto r3 = c->PutText("/v1/spec", good_yaml);
    ASSERT_TRUE(r3.ok());
    EXPECT_EQ(r3->status, 401) << r3->text;
  }
  auto detach_no_token = Vigilctl({"detach", "node1"});
  EXPECT_NE(detach_no_token.exitCode, 0) << detach_no_token.outputTail;
  EXPECT_TRUE(HasText(detach_no_token.outputTail, "token")) << detach_no_token.outputTail;
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // a few reconcile rounds
  auto st3 = GetStatus();
  ASSERT_TRUE(st3.ok());
  EXPECT_EQ(st3->primary, "node0");
  EXPECT_EQ(st3->routingGeneration, gen);
  EXPECT_EQ(Node(*st3, "node1")->state, "up");
  EXPECT_EQ(Node(*st3, "node2")->weight, 2) << "the unauthorised PUT changed the spec";
  EXPECT_TRUE(RoutedUp(0, "node1"));

  auto unknown = authed.Post("/v1/nodes/nodeX/detach", value::object());
  ASSERT_TRUE(unknown.ok());
  EXPECT_TRUE(unknown->status == 404 || unknown->status == 400) << unknown->status;
  EXPECT_TRUE(HasText(unknown->text, "nodeX")) << unknown->text;
  value to_x = value::object();
  to_x["to"] = value::string("nodeX");
  auto unknown_so = authed.Post("/v1/switchover", to_x);
  ASSERT_TRUE(unknown_so.ok());
  EXPECT_EQ(unknown_so->status, 400) << unknown_so->text;
  EXPECT_TRUE(HasText(unknown_so->text, "nodeX")) << unknown_so->text;
  auto unknown_ctl = Vigilctl({"attach", "nodeX"}, true);
  EXPECT_NE(unknown_ctl.exitCode, 0);
  EXPECT_TRUE(HasText(unknown_ctl.outputTail, "nodeX")) << unknown_ctl.outputTail;
  // With spec.primary set, a switchover elsewhere would be undone by the controller: refused.
  auto pinned = Vigilctl({"switchover", "--to", "node1"}, true);
  EXPECT_NE(pinned.exitCode, 0) << pinned.outputTail;
  EXPECT_TRUE(HasText(pinned.outputTail, "spec.primary")) << pinned.outputTail;
  auto bad_verb = authed.Post("/v1/nodes/node1/explode", value::object());
  ASSERT_TRUE(bad_verb.ok());
  EXPECT_EQ(bad_verb->status, 404);
  auto not_json = authed.PutText("/v1/switchover", "{", "application/json");
  ASSERT_TRUE(not_json.ok());
  EXPECT_EQ(not_json->status, 405);

  // --- 4. detach takes a node out of every proxy's routing; attach brings it back.
  auto detach = Vigilctl({"detach", "node2"}, true);
  ASSERT_EQ(detach.exitCode, 0) << detach.outputTail;
  EXPECT_TRUE(WaitStatus([](const ClusterStatus& s) { return Node(s, "node2")->state == "detached"; },
                         10000, "node2 detached"));
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(WaitFor([&] { return !RoutedUp(i, "node2"); }, 10000))
        << "sidecar " << i << " still routes to node2: " << Routing(i).serialize();
  EXPECT_TRUE(RoutedUp(0, "node1"));
  EXPECT_TRUE(RoutedUp(0, "node0"));
  auto st4 = GetStatus();
  ASSERT_TRUE(st4.ok());
  EXPECT_GT(st4->routingGeneration, gen);
  EXPECT_EQ(st4->primary, "node0");
  auto pool4 = Vigilctl({"status", "-o", "pool_nodes"});
  EXPECT_TRUE(std::regex_search(pool4.outputTail,
                                std::regex(" 2 +\\| 127\\.0\\.0\\.1 \\| " +
                                           std::to_string(spec_.nodes[2].port) + " +\\| detached ")))
      << pool4.outputTail;
  // Reads through a proxy reach node0 and node1 only.
  uint64_t node2_reads = ProxySelectCount("node2");
  uint64_t others_reads = ProxySelectCount("node0") + ProxySelectCount("node1");
  EXPECT_EQ(ProxyReads(0, 20), 20);
  EXPECT_EQ(ProxySelectCount("node2"), node2_reads) << "reads went to the detached node2";
  EXPECT_GE(ProxySelectCount("node0") + ProxySelectCount("node1"), others_reads + 20);
  // Detached, not broken: PostgreSQL still streams.
  EXPECT_EQ(Q(2, "SELECT pg_is_in_recovery()"), "t");

  auto attach = Vigilctl({"attach", "node2"}, true);
  ASSERT_EQ(attach.exitCode, 0) << attach.outputTail;
  EXPECT_TRUE(WaitStatus([](const ClusterStatus& s) { return Node(s, "node2")->state == "up"; }, 10000,
                         "node2 attached again"));
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(WaitFor([&] { return RoutedUp(i, "node2"); }, 10000))
        << "sidecar " << i << " does not route to node2 again: " << Routing(i).serialize();
  // Reads reach node2 again (standbys balanced by weight, node2 2 of 3: none in 30 sessions
  // is a (1/3)^30 chance).
  EXPECT_EQ(ProxyReads(1, 30), 30);
  EXPECT_GT(ProxySelectCount("node2"), node2_reads) << "no read reached node2 after attach";
  // The controller's select_cnt is the sum over the proxies.
  uint64_t proxies_counted = ProxySelectCount("node1") + ProxySelectCount("node2");
  EXPECT_TRUE(WaitStatus([&](const ClusterStatus& s) {
    return Node(s, "node1")->selectCount + Node(s, "node2")->selectCount >= proxies_counted;
  }, 10000, "select_cnt in the controller's status"));
  bool has_detach_event = false;
  auto st_end = GetStatus();
  ASSERT_TRUE(st_end.ok());
  for (const auto& e : st_end->events)
    if (e.node == "node2" && e.action == "detach" && !e.reason.empty())
      has_detach_event = true;
  EXPECT_TRUE(has_detach_event) << "no event with the reason for detaching node2";
}

// 5-6: switchover via vigilctl, then two failovers (automatic recovery, then
// recovery.automatic false and `vigilctl recover`).
TEST_F(ControllerApiIT, SwitchoverFailoverAndRecover) {
  // --- 5. switchover: no committed row lost.
  Q(0, "CREATE TABLE acked (id int PRIMARY KEY)");
  Q(0, "INSERT INTO acked SELECT generate_series(1, 1000)");
  uint64_t gen0 = GetStatus()->routingGeneration;
  auto so = Vigilctl({"switchover", "--to", "node1"}, true);
  ASSERT_EQ(so.exitCode, 0) << so.outputTail;
  ASSERT_TRUE(WaitStatus(
      [](const ClusterStatus& s) {
        return s.phase == "Healthy" && s.primary == "node1" && StreamingStandbys(s) == 2;
      },
      45000, "node1 primary after switchover, node0 and node2 streaming"));
  EXPECT_EQ(Q(1, "SELECT pg_is_in_recovery()"), "f");
  EXPECT_EQ(Q(0, "SELECT pg_is_in_recovery()"), "t");
  EXPECT_EQ(Q(1, "SELECT count(*) FROM acked"), "1000");
  EXPECT_EQ(Q(1, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'node0' AND state = 'streaming'"),
            "1");
  auto st5 = GetStatus();
  ASSERT_TRUE(st5.ok());
  EXPECT_GT(st5->routingGeneration, gen0);
  EXPECT_EQ(Node(*st5, "node0")->upstream, "node1");
  EXPECT_EQ(Node(*st5, "node2")->upstream, "node1");
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(WaitFor([&] { return Routing(i).at("primary").as_string() == "node1"; }, 10000))
        << "sidecar " << i << ": " << Routing(i).serialize();
  std::set<std::string> actions;
  for (const auto& e : st5->events) {
    EXPECT_FALSE(e.reason.empty()) << e.action << " " << e.node;
    actions.insert(e.action);
  }
  EXPECT_TRUE(actions.count("promote")) << "no promote event";
  RestClient anon(url_, "", std::chrono::milliseconds(5000));
  auto metrics = anon.Get("/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_TRUE(HasText(metrics->text, "pgvigil_node_primary{node=\"node1\"} 1")) << metrics->text;
  EXPECT_TRUE(HasText(metrics->text, "pgvigil_node_primary{node=\"node0\"} 0")) << metrics->text;

  // --- 6a. the primary crashes; recovery.automatic (default) rebuilds it.
  Q(1, "INSERT INTO acked SELECT generate_series(1001, 2000)");
  WaitReplayed(1);
  uint64_t tl = st5->timeline;
  ASSERT_TRUE(pg_->StopNode(1, "immediate").ok());
  std::string next;
  ASSERT_TRUE(WaitStatus(
      [&](const ClusterStatus& s) {
        if (s.primary == "node1" || s.primary.empty() || s.timeline <= tl) return false;
        next = s.primary;
        return true;
      },
      30000, "a standby promoted after node1 crashed"));
  ASSERT_TRUE(WaitStatus(
      [](const ClusterStatus& s) {
        return s.phase == "Healthy" && StreamingStandbys(s) == 2 && Node(s, "node1")->role == "standby";
      },
      90000, "node1 rebuilt automatically and every standby streaming from " + next));
  int ni = Index(next);
  EXPECT_EQ(Q(ni, "SELECT count(*) FROM acked"), "2000");
  EXPECT_EQ(Q(1, "SELECT pg_is_in_recovery()"), "t");
  EXPECT_EQ(Q(1, "SELECT count(*) FROM acked"), "2000");
  auto st6 = GetStatus();
  ASSERT_TRUE(st6.ok());
  for (const auto& n : st6->nodes) {
    if (n.name != next) {
      EXPECT_EQ(n.upstream, next) << n.name;
    }
  }

  // --- 6b. recovery.automatic false: the crashed primary stays down until `vigilctl recover`.
  ClusterSpec manual = spec_;
  manual.recovery.automatic = false;
  manual.primary = "";  // keep whichever is primary
  std::string manual_path = pg_->dir() + "/manual.yaml";
  ASSERT_TRUE(WriteFileAtomic(manual_path, SpecToYaml(manual), 0644).ok());
  auto apply = Vigilctl({"apply", "-f", manual_path});
  ASSERT_EQ(apply.exitCode, 0) << apply.outputTail;
  Q(ni, "INSERT INTO acked SELECT generate_series(2001, 3000)");
  WaitReplayed(ni);
  uint64_t tl2 = st6->timeline;
  ASSERT_TRUE(pg_->StopNode(ni, "immediate").ok());
  std::string third;
  ASSERT_TRUE(WaitStatus(
      [&](const ClusterStatus& s) {
        if (s.primary == next || s.primary.empty() || s.timeline <= tl2) return false;
        third = s.primary;
        return StreamingStandbys(s) == 1;
      },
      30000, "a standby promoted after " + next + " crashed, the other following"));
  // Not rebuilt by itself.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  auto st7 = GetStatus();
  ASSERT_TRUE(st7.ok());
  EXPECT_NE(Node(*st7, next)->state, "up") << RenderStatusTable(*st7);
  EXPECT_NE(Node(*st7, next)->role, "primary");
  EXPECT_FALSE(pg_->IsRunning(ni)) << next << " was started although recovery.automatic is false";

  auto rec = Vigilctl({"recover", next}, true);
  EXPECT_EQ(rec.exitCode, 0) << rec.outputTail;
  if (std::getenv("PGVIGIL_TEST_VERBOSE")) std::cerr << "vigilctl recover:\n" << rec.outputTail;
  EXPECT_TRUE(std::regex_search(rec.outputTail, std::regex(next + " \\[[#.]{20}\\] [0-9]+% ")))
      << "no progress line:\n" << rec.outputTail;
  EXPECT_TRUE(HasText(rec.outputTail, "100% streaming from " + third)) << rec.outputTail;
  ASSERT_TRUE(WaitStatus(
      [&](const ClusterStatus& s) {
        return s.phase == "Healthy" && s.primary == third && StreamingStandbys(s) == 2;
      },
      30000, next + " streaming again after vigilctl recover"));
  EXPECT_EQ(Q(Index(third), "SELECT count(*) FROM acked"), "3000");
  EXPECT_EQ(Q(ni, "SELECT count(*) FROM acked"), "3000");
  EXPECT_EQ(Q(ni, "SELECT pg_is_in_recovery()"), "t");
}

// 7: postgres.parameters in PUT /v1/spec are checked by a sidecar's PostgreSQL
// (the primary's sidecar first) before anything is stored. A value it would
// refuse is answered 400 naming the setting and the node that checked, and
// nothing changes: GET /v1/spec, the spec file the sidecars start from, what
// the sidecars store and write (spec.json, pgvigil.conf) and the servers'
// settings. A good change is stored, and a sidecar started again takes it into
// its PostgreSQL. With no sidecar able to check, the spec is taken and the
// answer (and vigilctl) says it went unchecked.
TEST_F(ControllerApiIT, ParametersPostgresWouldRefuseChangeNothing) {
  RestClient anon(url_, "", std::chrono::milliseconds(5000));
  RestClient authed(url_, kToken, std::chrono::milliseconds(15000));
  auto spec_before = anon.Get("/v1/spec");
  ASSERT_TRUE(spec_before.ok());
  const std::string file_before = *ReadFile(specPath_);
  std::vector<std::string> work_mem_before;
  for (int i = 0; i < 3; ++i) work_mem_before.push_back(Q(i, "SHOW work_mem"));
  // What a sidecar stores or writes when it takes a spec (agent/spec_update.h's
  // STATE/spec.json, agent/postgres_parameters.h's DATA/pgvigil.conf).
  auto nothing_taken = [&](const std::string& when) {
    for (int i = 0; i < 3; ++i) {
      const std::string& name = spec_.nodes[i].name;
      EXPECT_FALSE(ReadFile(pg_->dir() + "/state-" + name + "/spec.json").ok()) << name << " stored a spec " << when;
      EXPECT_FALSE(ReadFile(pg_->nodes()[i].dataDir + "/pgvigil.conf").ok()) << name << " wrote pgvigil.conf " << when;
      EXPECT_EQ(Q(i, "SHOW work_mem"), work_mem_before[i]) << name << " " << when;
    }
  };

  ClusterSpec bad = spec_;
  bad.postgres.parameters["work_mem"] = "lots";
  auto refused = authed.PutText("/v1/spec", SpecToYaml(bad));
  ASSERT_TRUE(refused.ok()) << refused.error();
  EXPECT_EQ(refused->status, 400) << refused->text;
  ASSERT_TRUE(refused->body.is_object() && refused->body.has_array_field("errors")) << refused->text;
  EXPECT_TRUE(HasText(refused->body.at("error").as_string(), "nothing changed")) << refused->text;
  ASSERT_EQ(refused->body.at("errors").size(), 1u) << refused->text;
  const std::string line = refused->body.at("errors").at(0).as_string();
  EXPECT_EQ(line.rfind("spec.postgres.parameters.work_mem: ", 0), 0u) << line;
  EXPECT_TRUE(HasText(line, "'lots'")) << line;
  EXPECT_TRUE(HasText(line, "(checked by node0)")) << line;
  auto spec_after = anon.Get("/v1/spec");
  ASSERT_TRUE(spec_after.ok());
  EXPECT_EQ(spec_after->text, spec_before->text);
  EXPECT_EQ(*ReadFile(specPath_), file_before);
  nothing_taken("after a refused PUT /v1/spec");
  auto st = GetStatus();
  ASSERT_TRUE(st.ok());
  bool recorded = false;
  for (const auto& e : st->events) {
    EXPECT_NE(e.reason, "a new spec was applied (3 nodes)") << "the refused spec was taken";
    if (e.action == "check-parameters" && e.node == "node0" && HasText(e.reason, "work_mem")) recorded = true;
  }
  EXPECT_TRUE(recorded) << "no check-parameters event naming work_mem";

  // vigilctl apply of spec_ with work_mem set to `value`, from FILE.yaml.
  auto apply_work_mem = [&](const std::string& value, const std::string& file, ClusterSpec* applied) {
    *applied = spec_;
    applied->postgres.parameters["work_mem"] = value;
    const std::string path = pg_->dir() + "/" + file + ".yaml";
    EXPECT_TRUE(WriteFileAtomic(path, SpecToYaml(*applied), 0644).ok());
    return Vigilctl({"apply", "-f", path}, true);
  };
  // vigilctl apply prints what the controller said.
  auto apply_bad = apply_work_mem("lots", "bad-parameters", &bad);
  EXPECT_NE(apply_bad.exitCode, 0) << apply_bad.outputTail;
  EXPECT_TRUE(HasText(apply_bad.outputTail, "spec.postgres.parameters.work_mem: ")) << apply_bad.outputTail;
  EXPECT_TRUE(HasText(apply_bad.outputTail, "(checked by node0)")) << apply_bad.outputTail;
  EXPECT_TRUE(HasText(apply_bad.outputTail, "nothing changed")) << apply_bad.outputTail;
  EXPECT_EQ(*ReadFile(specPath_), file_before);
  nothing_taken("after a refused vigilctl apply");

  // A good value: checked, stored, written back; node2's sidecar, started
  // again from the spec file, takes it into its PostgreSQL.
  ClusterSpec good;
  auto apply_good = apply_work_mem("8MB", "good-parameters", &good);
  EXPECT_EQ(apply_good.exitCode, 0) << apply_good.outputTail;
  EXPECT_FALSE(HasText(apply_good.outputTail, "warning")) << apply_good.outputTail;
  EXPECT_EQ(*ReadFile(specPath_), SpecToYaml(good));
  auto spec_good = anon.Get("/v1/spec");
  ASSERT_TRUE(spec_good.ok());
  auto parsed = ParseSpec(spec_good->text, "GET /v1/spec");
  ASSERT_TRUE(parsed.ok()) << parsed.ErrorText();
  EXPECT_EQ(parsed.spec->postgres.parameters, good.postgres.parameters);
  spec_ = good;
  sidecars_[2]->Stop();
  sidecars_[2] = StartSidecar("node2", "-again");
  ASSERT_NE(sidecars_[2], nullptr);
  EXPECT_TRUE(WaitFor([&] { return Q(2, "SHOW work_mem") == "8MB"; }, 20000)) << Q(2, "SHOW work_mem");

  // No sidecar can check: taken, with a warning that says so.
  for (auto& sc : sidecars_) sc->Stop();
  ClusterSpec unchecked;
  auto apply_unchecked = apply_work_mem("9MB", "unchecked-parameters", &unchecked);
  EXPECT_EQ(apply_unchecked.exitCode, 0) << apply_unchecked.outputTail;
  EXPECT_TRUE(HasText(apply_unchecked.outputTail, "warning: postgres.parameters applied unchecked"))
      << apply_unchecked.outputTail;
  EXPECT_EQ(*ReadFile(specPath_), SpecToYaml(unchecked));
  // The sidecars start again from it, their servers take it, and the cluster
  // is as before.
  spec_ = unchecked;
  for (int i = 0; i < 3; ++i) {
    sidecars_[i] = StartSidecar(spec_.nodes[i].name, "-last");
    ASSERT_NE(sidecars_[i], nullptr);
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(WaitFor([&] { return Q(i, "SHOW work_mem") == "9MB"; }, 20000)) << Q(i, "SHOW work_mem");
    EXPECT_TRUE(WaitFor([&] { return RoutingGeneration(i) >= 1; }, 20000)) << Routing(i).serialize();
  }
  EXPECT_TRUE(WaitStatus(
      [](const ClusterStatus& s) {
        return s.phase == "Healthy" && s.primary == "node0" && StreamingStandbys(s) == 2;
      },
      30000, "Healthy with node0 primary after the sidecars started again"));
}

}  // namespace
}  // namespace pgvigil
