// vigilctl in Kubernetes mode (kube_target.h says how the cluster is found):
//   status [CLUSTER] [-o table|json|yaml|pool_nodes]
//       the PostgresCluster's status.report (the acting controller's view, the
//       VM controller's GET /v1/status body) through the VM renderer;
//   switchover [CLUSTER] --to INSTANCE, recover [CLUSTER] INSTANCE [--no-wait]
//       the request annotation pgvigil.io/request (kube_request.h), then the
//       controller's answer in status.lastRequest (--timeout SECONDS, 30);
//   fence [CLUSTER] INSTANCE|'*', unfence [CLUSTER] INSTANCE|'*'
//       pgvigil.io/fenced-instances edited by a JSON patch whose `test`
//       operation makes the read-modify-write safe (retried when it fails).
#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "controller/kube/kube_lease.h"
#include "common/strings.h"
#include "controller/kube/kube_request.h"
#include "controller/kube/render_labels.h"
#include "controller/vigilctl/commands.h"
#include "controller/vigilctl/kube_target.h"
#include "controller/vigilctl/status_output.h"

namespace pgvigil {

using web::json::value;

namespace {

int Fail(const std::string& cmd, const std::string& why) {
  std::cerr << "vigilctl " << cmd << ": " << why << "\n";
  return 1;
}

bool Unknown(const CommandLine& cl, const std::string& cmd) {
  if (cl.Unknown().empty()) return false;
  std::cerr << "vigilctl " << cmd << ": unknown option " << cl.Unknown().front() << "\n";
  return true;
}

std::string Str(const value& o, const char* k) { return o.has_string_field(k) ? o.at(k).as_string() : ""; }

std::string Annotation(const value& cr, const char* key) {
  if (!cr.has_object_field("metadata") || !cr.at("metadata").has_object_field("annotations")) return "";
  return Str(cr.at("metadata").at("annotations"), key);
}

bool HasAnnotation(const value& cr, const char* key) {
  return cr.has_object_field("metadata") && cr.at("metadata").has_object_field("annotations") &&
         cr.at("metadata").at("annotations").has_field(key);
}

std::vector<std::string> Instances(const KubeTarget& t, const value& cr) {
  int n = 0;
  if (cr.has_object_field("spec") && cr.at("spec").has_number_field("instances"))
    n = cr.at("spec").at("instances").as_number().to_int32();
  return kube::InstanceNames(t.cluster, n);
}

// status.report as a ClusterStatus (what a VM controller's /v1/status serves).
Result<value> Report(const KubeTarget& t, const value& cr) {
  if (!cr.has_object_field("status") || !cr.at("status").has_object_field("report")) {
    std::string phase = cr.has_object_field("status") ? Str(cr.at("status"), "phase") : "";
    return Result<value>::Error(t.Name() + " has no status.report yet: no pgvigil controller has acted on it" +
                                (phase.empty() ? std::string() : " (phase " + phase + ")") +
                                "; is pgvigil-controller running?");
  }
  return cr.at("status").at("report");
}

std::string RandomId() {
  std::random_device rd;
  std::ostringstream out;
  out << std::hex << std::setfill('0') << std::setw(8) << rd() << std::setw(8) << rd();
  return out.str();
}

// A JSON pointer token (RFC 6901): "~" -> "~0", "/" -> "~1".
std::string PointerToken(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  return out;
}

// Positionals [CLUSTER] INSTANCE of recover, fence, unfence.
bool ClusterAndInstance(const CommandLine& cl, std::string* cluster, std::string* instance) {
  const auto& p = cl.Positional();
  if (p.size() == 1) *instance = p[0];
  else if (p.size() == 2) *cluster = p[0], *instance = p[1];
  else return false;
  return true;
}

int KubeStatus(const CommandLine& cl) {
  std::string format = cl.Value("-o", cl.Value("--output", "table"));
  MarkKubeOptions(cl);
  if (Unknown(cl, "status")) return 2;
  if (cl.Positional().size() > 1) {
    std::cerr << "usage: vigilctl status [CLUSTER] [-n NAMESPACE] [-o table|json|yaml|pool_nodes]\n";
    return 2;
  }
  auto t = ResolveKubeTarget(cl, cl.Positional().empty() ? "" : cl.Positional()[0], "");
  if (!t.ok()) return Fail("status", t.error());
  auto cr = GetCluster(*t);
  if (!cr.ok()) return Fail("status", cr.error());
  auto report = Report(*t, *cr);
  if (!report.ok()) return Fail("status", report.error());
  return PrintStatus(*report, format, t->Name() + " status.report");
}

// Writes the request annotation and waits for status.lastRequest to answer it.
int KubeRequest(const CommandLine& cl, const std::string& cmd, const std::string& cluster,
                const std::string& instance, bool follow_recovery) {
  int timeout = 30;
  try {
    timeout = std::stoi(cl.Value("--timeout", "30"));
  } catch (const std::exception&) {
    std::cerr << "vigilctl " << cmd << ": --timeout: not a number of seconds\n";
    return 2;
  }
  auto t = ResolveKubeTarget(cl, cluster, instance);
  if (!t.ok()) return Fail(cmd, t.error());
  auto cr = GetCluster(*t);
  if (!cr.ok()) return Fail(cmd, cr.error());
  const auto instances = Instances(*t, *cr);
  if (std::find(instances.begin(), instances.end(), instance) == instances.end()) {
    const std::string list = Join(instances);
    return Fail(cmd, "'" + instance + "' is not an instance of " + t->Name() + " (" + list +
                         "); nothing was requested");
  }
  kube::OperatorRequest req{RandomId(), cmd, instance, kube::FormatMicroTime(std::chrono::system_clock::now())};
  value patch = value::object();
  patch["metadata"]["annotations"][kube::kRequestAnnotation] = value::string(kube::EncodeRequest(req));
  auto r = t->client->MergePatch(t->Path(), patch);
  if (!r.ok()) return Fail(cmd, t->client->config().server + ": " + r.error());
  if (!r->ok()) return Fail(cmd, DescribeApiError(*t, "patch", *r));
  std::cout << cmd << " " << instance << ": requested (" << kube::kRequestAnnotation << " id " << req.id
            << " on " << t->Name() << ")\n";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto now = GetCluster(*t);
    if (!now.ok()) continue;
    if (!now->has_object_field("status") || !now->at("status").has_object_field("lastRequest")) continue;
    const value& last = now->at("status").at("lastRequest");
    if (Str(last, "id") != req.id) continue;
    const std::string result = Str(last, "result");
    const uint64_t term = last.has_number_field("term") ? last.at("term").as_number().to_uint64() : 0;
    std::cout << cmd << " " << instance << ": " << result << " by the controller (term " << term
              << "): " << Str(last, "message") << "\n";
    if (result != "Accepted") return 1;
    if (!follow_recovery) return 0;
    return FollowRecovery(instance, [&t]() -> Result<ClusterStatus> {
      auto c = GetCluster(*t);
      if (!c.ok()) return c.status();
      auto rep = Report(*t, *c);
      if (!rep.ok()) return rep.status();
      return ClusterStatusFromJson(*rep);
    });
  }
  return Fail(cmd, "no controller answered within " + std::to_string(timeout) +
                       " s (status.lastRequest); is pgvigil-controller running and leading? The request stays "
                       "in the annotation and is taken when a controller acts");
}

int KubeSwitchover(const CommandLine& cl) {
  std::string to = cl.Value("--to");
  (void)cl.Value("--timeout");
  MarkKubeOptions(cl);
  if (Unknown(cl, "switchover")) return 2;
  const auto& p = cl.Positional();
  if (to.empty() || p.size() > 1) {
    std::cerr << "usage: vigilctl switchover [CLUSTER] --to INSTANCE [-n NAMESPACE] [--timeout SECONDS]\n";
    return 2;
  }
  return KubeRequest(cl, "switchover", p.empty() ? "" : p[0], to, false);
}

int KubeRecover(const CommandLine& cl) {
  bool no_wait = cl.Has("--no-wait");
  (void)cl.Value("--timeout");
  MarkKubeOptions(cl);
  if (Unknown(cl, "recover")) return 2;
  std::string cluster, instance;
  if (!ClusterAndInstance(cl, &cluster, &instance)) {
    std::cerr << "usage: vigilctl recover [CLUSTER] INSTANCE [-n NAMESPACE] [--no-wait]\n";
    return 2;
  }
  return KubeRequest(cl, "recover", cluster, instance, !no_wait);
}

int KubeFence(const CommandLine& cl, bool fence) {
  const std::string cmd = fence ? "fence" : "unfence";
  MarkKubeOptions(cl);
  if (Unknown(cl, cmd)) return 2;
  std::string cluster, instance;
  if (!ClusterAndInstance(cl, &cluster, &instance)) {
    std::cerr << "usage: vigilctl " << cmd << " [CLUSTER] INSTANCE|'*' [-n NAMESPACE]\n";
    return 2;
  }
  auto t = ResolveKubeTarget(cl, cluster, instance == "*" ? "" : instance);
  if (!t.ok()) return Fail(cmd, t.error());
  const std::string pointer =
      "/metadata/annotations/" + PointerToken(kube::kFencedInstancesAnnotation);
  for (int attempt = 1; attempt <= 5; ++attempt) {
    auto cr = GetCluster(*t);
    if (!cr.ok()) return Fail(cmd, cr.error());
    const std::string current = Annotation(*cr, kube::kFencedInstancesAnnotation);
    bool changed = false;
    auto after = kube::FenceAnnotationAfter(current, fence, instance, Instances(*t, *cr), &changed);
    if (!after.ok()) return Fail(cmd, t->Name() + ": " + after.error() + "; nothing was changed");
    if (!changed) {
      std::cout << instance << ": " << (fence ? "already fenced" : "not fenced") << " ("
                << kube::kFencedInstancesAnnotation << " = '" << current << "')\n";
      return 0;
    }
    // The test operation makes the edit conditional on what was read: the
    // annotation's text when it exists, else the object's resourceVersion.
    value ops = value::array();
    value test = value::object(true);
    test["op"] = value::string("test");
    if (HasAnnotation(*cr, kube::kFencedInstancesAnnotation)) {
      test["path"] = value::string(pointer);
      test["value"] = value::string(current);
    } else {
      test["path"] = value::string("/metadata/resourceVersion");
      test["value"] = value::string(Str(cr->at("metadata"), "resourceVersion"));
    }
    ops[0] = test;
    value edit = value::object(true);
    if (after->empty()) {
      edit["op"] = value::string("remove");
      edit["path"] = value::string(pointer);
    } else if (!cr->at("metadata").has_object_field("annotations")) {
      edit["op"] = value::string("add");
      edit["path"] = value::string("/metadata/annotations");
      edit["value"] = value::object();
      edit["value"][kube::kFencedInstancesAnnotation] = value::string(*after);
    } else {
      edit["op"] = value::string(HasAnnotation(*cr, kube::kFencedInstancesAnnotation) ? "replace" : "add");
      edit["path"] = value::string(pointer);
      edit["value"] = value::string(*after);
    }
    ops[1] = edit;
    auto r = t->client->JsonPatch(t->Path(), ops);
    if (!r.ok()) return Fail(cmd, t->client->config().server + ": " + r.error());
    if (r->code == 422 || r->code == 409) continue;  // changed since read: read again
    if (!r->ok()) return Fail(cmd, DescribeApiError(*t, "patch", *r));
    std::cout << instance << ": " << (fence ? "fenced" : "unfenced") << " (" << kube::kFencedInstancesAnnotation
              << " = '" << *after << "' on " << t->Name() << "); "
              << (fence ? "the controller detaches it and stops its PostgreSQL"
                        : "the controller attaches it again and it rejoins as a standby")
              << "\n";
    return 0;
  }
  return Fail(cmd, t->Name() + ": the annotation kept changing under this edit (5 tries); nothing was changed");
}

}  // namespace

int CmdKube(const std::string& word, const CommandLine& cl) {
  if (word == "status") return KubeStatus(cl);
  if (word == "switchover") return KubeSwitchover(cl);
  if (word == "recover") return KubeRecover(cl);
  if (word == "fence") return KubeFence(cl, true);
  if (word == "unfence") return KubeFence(cl, false);
  std::cerr << "vigilctl " << word
            << ": not available on Kubernetes (there: status, switchover, recover, fence, unfence; change the "
               "cluster with kubectl apply)\n";
  return 2;
}

}  // namespace pgvigil
