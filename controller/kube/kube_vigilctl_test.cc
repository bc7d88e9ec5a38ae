// vigilctl in Kubernetes mode (--kubeconfig, and run as kubectl-pgvigil)
// against kube-fake (the API-server test double, not Kubernetes) and the real
// controller in Kubernetes mode as a child process (kube_mode_fixture.h). No
// pods run here (their DNS names do not resolve), so the controller observes
// nothing; what is checked is the path through the API server:
//  - status renders the PostgresCluster's status.report with the VM renderer
//    (the same text as vigilctl status against the controller's REST port);
//  - fence/unfence edit pgvigil.io/fenced-instances (Fenced=True, then False);
//  - switchover and recover go through pgvigil.io/request and come back in
//    status.lastRequest (Accepted, with the controller's term; a refusal exits 1);
//  - a request is recorded in status.lastRequest before the planner gets it,
//    and a new leader does not run it again;
//  - errors: no kubeconfig, an unknown cluster, an unknown instance (nothing
//    written), a user without rights (403).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "controller/kube/kube_mode_fixture.h"
#include "controller/kube/kube_request.h"

namespace pgvigil::kube {
namespace {

class KubeVigilctlTest : public KubeModeTest {
 protected:
  void SetUp() override {
    KubeModeTest::SetUp();
    if (HasFatalFailure()) return;
    env_.fake().AllowToken("admin-user");
    env_.fake().AllowToken("nobody", std::vector<fake::PolicyRule>{});
    // A vigilctl user holding only the chart's vigilctl ClusterRole.
    std::ifstream manifests(std::string(PGVIGIL_SOURCE_DIR) + "/manifests/install.yaml");
    std::string text((std::istreambuf_iterator<char>(manifests)), std::istreambuf_iterator<char>());
    auto vigilctl_rules = fake::ParseRoleNamed(text, "pgvigil-vigilctl");
    ASSERT_TRUE(vigilctl_rules.ok()) << vigilctl_rules.error();
    env_.fake().AllowToken("vigilctl-user", *vigilctl_rules, "alice");
    WriteKubeconfig(dir_ + "/kubeconfig", "admin-user");
    WriteKubeconfig(dir_ + "/kubeconfig-vigilctl", "vigilctl-user");
    WriteKubeconfig(dir_ + "/kubeconfig-nobody", "nobody");
    ASSERT_EQ(::symlink(PGVIGIL_VIGILCTL_BIN, (dir_ + "/kubectl-pgvigil").c_str()), 0);
  }
  void WriteKubeconfig(const std::string& path, const std::string& token) {
    std::ofstream(path) << "apiVersion: v1\nkind: Config\ncurrent-context: lab\n"
                        << "clusters:\n- name: fake\n  cluster:\n    server: " << env_.fake().url()
                        << "\n    certificate-authority: " << dir_ << "/ca.crt\n"
                        << "users:\n- name: u\n  user:\n    token: " << token << "\n"
                        << "contexts:\n- name: lab\n  context: {cluster: fake, user: u, namespace: db}\n";
  }
  // Runs argv (argv[0]: the program) with KUBECONFIG as given ("" unset).
  ProcessResult Run(std::vector<std::string> argv, const std::string& kubeconfig_env = "") {
    if (kubeconfig_env.empty()) unsetenv("KUBECONFIG");
    else setenv("KUBECONFIG", kubeconfig_env.c_str(), 1);
    setenv("HOME", dir_.c_str(), 1);  // no ~/.kube/config
    ProcessOptions po;
    po.timeout = std::chrono::milliseconds(60000);
    po.tailLines = 2000;
    auto r = RunProcess(argv, po);
    EXPECT_TRUE(r.ok()) << r.error();
    return r.ok() ? *r : ProcessResult{};
  }
  std::string Vigilctl() const { return PGVIGIL_VIGILCTL_BIN; }
  std::string Annotation(const std::string& key) {
    value cr = Get("demo");
    const value& m = cr.at("metadata");
    if (!m.has_object_field("annotations") || !m.at("annotations").has_string_field(key)) return "<none>";
    return m.at("annotations").at(key).as_string();
  }
  bool ConditionIs(const std::string& type, const std::string& want) {
    value c = Condition(Get("demo"), type);
    return c.is_object() && c.at("status").as_string() == want;
  }
};

TEST_F(KubeVigilctlTest, StatusFenceAndRequestsThroughTheApiServer) {
  StartController();
  Create(ClusterJson("demo"));
  ASSERT_TRUE(WaitFor([&] { return Status(Get("demo")).has_object_field("report"); }, milliseconds(30000)))
      << Status(Get("demo")).serialize();
  // Every command as a user holding only the chart's vigilctl ClusterRole.
  const std::string kc = dir_ + "/kubeconfig-vigilctl";

  // status: the report through the VM renderer; the same table as the
  // controller's own REST port gives (the report is what that port serves).
  auto table = Run({Vigilctl(), "--kubeconfig", kc, "status", "demo"});
  EXPECT_EQ(table.exitCode, 0) << table.outputTail;
  EXPECT_NE(table.outputTail.find("demo"), std::string::npos) << table.outputTail;
  auto rest = Run({Vigilctl(), "status", "--controller", "http://127.0.0.1:" + std::to_string(restPort_)});
  EXPECT_EQ(rest.exitCode, 0) << rest.outputTail;
  // The first line (cluster, phase) is the same both ways.
  EXPECT_EQ(table.outputTail.substr(0, table.outputTail.find('\n')),
            rest.outputTail.substr(0, rest.outputTail.find('\n')))
      << table.outputTail << "\n----\n" << rest.outputTail;
  // As a kubectl plugin: KUBECONFIG from the environment, the namespace from
  // the context, the only cluster of the namespace, options before the word.
  auto plugin = Run({dir_ + "/kubectl-pgvigil", "status"}, "/nonexistent:" + kc);
  EXPECT_EQ(plugin.exitCode, 0) << plugin.outputTail;
  EXPECT_EQ(plugin.outputTail.substr(0, plugin.outputTail.find('\n')),
            table.outputTail.substr(0, table.outputTail.find('\n')));
  auto yaml = Run({dir_ + "/kubectl-pgvigil", "-n", "db", "status", "-o", "yaml"}, kc);
  EXPECT_EQ(yaml.exitCode, 0) << yaml.outputTail;
  EXPECT_NE(yaml.outputTail.find("cluster: \"demo\""), std::string::npos) << yaml.outputTail;
  EXPECT_NE(yaml.outputTail.find("acting: true"), std::string::npos) << yaml.outputTail;

  // fence, then unfence: the annotation, Fenced=True then False.
  auto fence = Run({Vigilctl(), "--kubeconfig", kc, "fence", "demo-2"});
  EXPECT_EQ(fence.exitCode, 0) << fence.outputTail;
  EXPECT_EQ(Annotation("pgvigil.io/fenced-instances"), R"(["demo-2"])");
  EXPECT_TRUE(WaitFor([&] { return ConditionIs("Fenced", "True"); })) << Status(Get("demo")).serialize();
  auto again = Run({Vigilctl(), "--kubeconfig", kc, "fence", "demo-2"});
  EXPECT_EQ(again.exitCode, 0);
  EXPECT_NE(again.outputTail.find("already fenced"), std::string::npos) << again.outputTail;
  auto fence1 = Run({Vigilctl(), "--kubeconfig", kc, "fence", "demo", "demo-1"});
  EXPECT_EQ(fence1.exitCode, 0) << fence1.outputTail;
  EXPECT_EQ(Annotation("pgvigil.io/fenced-instances"), R"(["demo-1","demo-2"])");
  EXPECT_EQ(Run({Vigilctl(), "--kubeconfig", kc, "unfence", "demo-1"}).exitCode, 0);
  auto unfence = Run({Vigilctl(), "--kubeconfig", kc, "unfence", "demo-2"});
  EXPECT_EQ(unfence.exitCode, 0) << unfence.outputTail;
  EXPECT_EQ(Annotation("pgvigil.io/fenced-instances"), "<none>");
  EXPECT_TRUE(WaitFor([&] { return ConditionIs("Fenced", "False"); })) << Status(Get("demo")).serialize();

  // switchover: filed with the Reconciler, answered in status.lastRequest.
  auto sw = Run({Vigilctl(), "--kubeconfig", kc, "switchover", "--to", "demo-1"});
  EXPECT_EQ(sw.exitCode, 0) << sw.outputTail << controller_.LogTail(30);
  EXPECT_NE(sw.outputTail.find("Accepted by the controller (term 1)"), std::string::npos) << sw.outputTail;
  value last = Status(Get("demo")).at("lastRequest");
  EXPECT_EQ(last.at("action").as_string(), "switchover");
  EXPECT_EQ(last.at("instance").as_string(), "demo-1");
  EXPECT_EQ(last.at("result").as_string(), "Accepted");
  EXPECT_NE(controller_.LogTail(400).find("switchover demo-1 requested"), std::string::npos);
  // recover --no-wait: accepted; the id is new, so it is filed again.
  auto rec = Run({Vigilctl(), "--kubeconfig", kc, "recover", "demo-2", "--no-wait"});
  EXPECT_EQ(rec.exitCode, 0) << rec.outputTail;
  EXPECT_NE(Status(Get("demo")).at("lastRequest").at("id").as_string(), last.at("id").as_string());

  // A request the controller refuses (written by hand): Refused, recorded once.
  auto bad = client_->MergePatch(
      ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", "db", "demo"),
      value::parse(R"({"metadata":{"annotations":{"pgvigil.io/request":"{\"id\":\"x1\",\"action\":\"promote\",\"instance\":\"demo-1\"}"}}})"));
  ASSERT_TRUE(bad.ok() && bad->ok());
  EXPECT_TRUE(WaitFor([&] {
    value l = Status(Get("demo")).at("lastRequest");
    return l.at("id").as_string() == "x1" && l.at("result").as_string() == "Refused";
  }));
}

// A request is recorded in status.lastRequest before the planner gets it: the
// first version of the status that names the request's id shows no sign of it
// in the Reconciler's events (status.report), a later one does. So a
// controller that dies in between leaves a request answered, and a new leader
// (here after the first one stopped) never runs it again.
TEST_F(KubeVigilctlTest, ARequestIsDurableInTheStatusBeforeThePlannerGetsIt) {
  StartController();
  Create(ClusterJson("demo"));
  ASSERT_TRUE(WaitFor([&] { return Status(Get("demo")).has_object_field("report"); }, milliseconds(30000)))
      << Status(Get("demo")).serialize();
  // Every version of the PostgresCluster from now on.
  const std::string rv = Get("demo").at("metadata").at("resourceVersion").as_string();
  std::mutex mu;
  std::vector<value> versions;
  std::atomic<bool> stop{false};
  std::thread watcher([&] {
    auto c = env_.Client();
    while (!stop)
      c->Watch(ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", "db"), "", rv, 2, milliseconds(5000),
               [&](const WatchEvent& e) {
                 std::lock_guard<std::mutex> lock(mu);
                 versions.push_back(e.object);
                 return !stop.load();
               });
  });
  auto request_of = [](const value& cr) {
    value s = Status(cr);
    return s.has_object_field("lastRequest") ? s.at("lastRequest").at("id").as_string() : std::string();
  };
  auto planner_has_it = [](const value& cr) {  // the Reconciler's event for it
    return Status(cr).has_object_field("report") &&
           Status(cr).at("report").serialize().find("switchover to demo-1 requested") != std::string::npos;
  };
  auto p = client_->MergePatch(
      ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", "db", "demo"),
      value::parse(R"({"metadata":{"annotations":{"pgvigil.io/request":"{\"id\":\"r1\",\"action\":\"switchover\",\"instance\":\"demo-1\"}"}}})"));
  ASSERT_TRUE(p.ok() && p->ok());
  EXPECT_TRUE(WaitFor([&] {
    value cr = Get("demo");
    return request_of(cr) == "r1" && planner_has_it(cr);
  }, milliseconds(20000))) << Status(Get("demo")).serialize() << controller_.LogTail(40);
  stop = true;
  watcher.join();
  {
    std::lock_guard<std::mutex> lock(mu);
    auto first = std::find_if(versions.begin(), versions.end(), [&](const value& v) { return request_of(v) == "r1"; });
    ASSERT_NE(first, versions.end()) << versions.size() << " versions watched";
    EXPECT_EQ(Status(*first).at("lastRequest").at("result").as_string(), "Accepted");
    EXPECT_FALSE(planner_has_it(*first)) << "the planner had the request before its record was in the status: "
                                         << Status(*first).serialize();
  }
  EXPECT_NE(controller_.LogTail(400).find("request r1 (switchover demo-1) durable in status.lastRequest: handed to "
                                          "the planner"),
            std::string::npos)
      << controller_.LogTail(40);
  // The leader stops (releasing the Lease); the next one does not file r1 again.
  controller_.Stop();
  StartController({}, &second_, "pgvigil-controller-1");
  ASSERT_TRUE(WaitFor([&] { return Int(Status(Get("demo")), "term") == 2; }, milliseconds(30000)))
      << second_.LogTail(40);
  std::this_thread::sleep_for(milliseconds(2000));
  EXPECT_EQ(second_.LogTail(1000).find("r1"), std::string::npos) << second_.LogTail(60);
  EXPECT_EQ(Status(Get("demo")).at("lastRequest").at("term").as_integer(), 1);
}

TEST_F(KubeVigilctlTest, ErrorsSayWhatIsWrongAndChangeNothing) {
  StartController();
  Create(ClusterJson("demo"));
  ASSERT_TRUE(WaitFor([&] { return Int(Status(Get("demo")), "term") == 1; }));
  const std::string kc = dir_ + "/kubeconfig";

  auto none = Run({dir_ + "/kubectl-pgvigil", "status"});
  EXPECT_EQ(none.exitCode, 1);
  EXPECT_NE(none.outputTail.find("no kubeconfig: pass --kubeconfig FILE or set KUBECONFIG"), std::string::npos)
      << none.outputTail;
  auto missing = Run({Vigilctl(), "--kubeconfig", kc, "status", "nosuch"});
  EXPECT_EQ(missing.exitCode, 1);
  EXPECT_NE(missing.outputTail.find("PostgresCluster db/nosuch not found"), std::string::npos)
      << missing.outputTail;
  auto other_ns = Run({Vigilctl(), "--kubeconfig", kc, "-n", "empty", "status"});
  EXPECT_EQ(other_ns.exitCode, 1);
  EXPECT_NE(other_ns.outputTail.find("no PostgresCluster in namespace empty"), std::string::npos)
      << other_ns.outputTail;
  auto forbidden = Run({Vigilctl(), "--kubeconfig", dir_ + "/kubeconfig-nobody", "status", "demo"});
  EXPECT_EQ(forbidden.exitCode, 1);
  EXPECT_NE(forbidden.outputTail.find("forbidden (HTTP 403)"), std::string::npos) << forbidden.outputTail;
  auto forbidden_fence = Run({Vigilctl(), "--kubeconfig", dir_ + "/kubeconfig-nobody", "fence", "demo-1"});
  EXPECT_EQ(forbidden_fence.exitCode, 1);
  EXPECT_NE(forbidden_fence.outputTail.find("HTTP 403"), std::string::npos) << forbidden_fence.outputTail;
  auto unknown = Run({Vigilctl(), "--kubeconfig", kc, "fence", "demo", "demo-7"});
  EXPECT_EQ(unknown.exitCode, 1);
  EXPECT_NE(unknown.outputTail.find("'demo-7' is not an instance of this cluster"), std::string::npos)
      << unknown.outputTail;
  auto unknown_sw = Run({Vigilctl(), "--kubeconfig", kc, "switchover", "demo", "--to", "demo-9"});
  EXPECT_EQ(unknown_sw.exitCode, 1);
  EXPECT_NE(unknown_sw.outputTail.find("nothing was requested"), std::string::npos) << unknown_sw.outputTail;
  auto usage = Run({Vigilctl(), "--kubeconfig", kc, "switchover"});
  EXPECT_EQ(usage.exitCode, 2);
  auto vm_only = Run({Vigilctl(), "--kubeconfig", kc, "detach", "demo-1"});
  EXPECT_EQ(vm_only.exitCode, 2);
  EXPECT_NE(vm_only.outputTail.find("not available on Kubernetes"), std::string::npos) << vm_only.outputTail;
  // None of these wrote to the cluster's metadata or spec.
  value cr = Get("demo");
  EXPECT_FALSE(cr.at("metadata").has_object_field("annotations")) << cr.at("metadata").serialize();
  EXPECT_EQ(Int(cr.at("metadata"), "generation"), 1);
}

}  // namespace
}  // namespace pgvigil::kube
