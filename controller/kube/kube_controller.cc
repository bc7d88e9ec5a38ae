#include "controller/kube/kube_controller.h"

#include <algorithm>

#include <cpprest/asyncrt_utils.h>
#include <spdlog/spdlog.h>

#include "controller/kube/kube_lease.h"
#include "controller/kube/kube_leadership.h"
#include "controller/kube/kube_plan.h"

namespace pgvigil::kube {

using web::json::value;

namespace {

std::string Str(const value& o, const char* k) { return o.has_string_field(k) ? o.at(k).as_string() : ""; }

int64_t Generation(const value& cr) {
  if (!cr.has_object_field("metadata")) return 0;
  const value& m = cr.at("metadata");
  return m.has_number_field("generation") ? m.at("generation").as_number().to_int64() : 0;
}

// One key of a Secret (§7 #12), decoded.
Result<std::string> ReadSecretKey(KubeClient* client, const std::string& ns, const std::string& name,
                                  const std::string& key) {
  auto r = client->Get(ResourcePath("", "v1", "secrets", ns, name));
  const std::string where = "Secret " + ns + "/" + name;
  if (!r.ok()) return Result<std::string>::Error(where + ": " + r.error());
  if (!r->ok()) return Result<std::string>::Error(where + ": " + r->Describe());
  if (!r->body.has_object_field("data") || !r->body.at("data").has_string_field(key))
    return Result<std::string>::Error(where + " has no key '" + key + "'");
  try {
    auto bytes = utility::conversions::from_base64(r->body.at("data").at(key).as_string());
    std::string text(bytes.begin(), bytes.end());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return text;
  } catch (const std::exception& e) {
    return Result<std::string>::Error(where + " key '" + key + "': not base64 (" + e.what() + ")");
  }
}

}  // namespace

KubeController::KubeController(KubeClient* client, LeaseElector* elector, KubeControllerOptions options)
    : client_(client), elector_(elector), options_(std::move(options)) {}

KubeController::~KubeController() { Stop(); }

void KubeController::Start() {
  watcher_ = std::thread([this] { WatchLoop(); });
  syncer_ = std::thread([this] { SyncLoop(); });
}

void KubeController::Stop() {
  if (stop_.exchange(true)) return;
  cv_.notify_all();
  if (syncer_.joinable()) syncer_.join();
  if (watcher_.joinable()) watcher_.join();
  for (auto& [key, c] : clusters_)
    if (c.reconciler) c.reconciler->Stop();
  clusters_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  runningReconcilers_.clear();
  running_.clear();
}

std::vector<std::string> KubeController::Running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

std::optional<ClusterStatus> KubeController::ClusterStatusOf(const std::string& key) const {
  std::shared_ptr<Reconciler> rec;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = runningReconcilers_.find(key);
    if (it == runningReconcilers_.end()) return std::nullopt;
    rec = it->second;
  }
  return rec->GetStatus();
}

void KubeController::WatchLoop() {
  ListWatchOptions o;
  o.timeoutSeconds = options_.watchTimeoutSeconds;
  ListWatch lw(client_, ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", options_.watchNamespace), o);
  lw.Run(stop_, [this](const ListWatch::Cache& cache, const std::string&) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      cache_ = cache;
      changed_ = true;
    }
    cv_.notify_all();
  });
}

void KubeController::SyncLoop() {
  while (!stop_) {
    ListWatch::Cache cache;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, options_.syncPeriod, [&] { return stop_ || changed_; });
      if (stop_) return;
      changed_ = false;
      cache = cache_;
    }
    for (const auto& [key, cr] : cache) SyncOne(key, cr);
    for (auto it = clusters_.begin(); it != clusters_.end();) {
      if (cache.count(it->first)) {
        ++it;
        continue;
      }
      spdlog::info("PostgresCluster {} deleted: its reconciler stops", it->first);
      if (it->second.reconciler) it->second.reconciler->Stop();
      it = clusters_.erase(it);
    }
    std::vector<std::string> running;
    std::map<std::string, std::shared_ptr<Reconciler>> recs;
    for (const auto& [key, c] : clusters_)
      if (c.reconciler) {
        running.push_back(key);
        recs[key] = c.reconciler;
      }
    std::lock_guard<std::mutex> lock(mu_);
    running_ = std::move(running);
    runningReconcilers_ = std::move(recs);
  }
}

std::unique_ptr<Reconciler> KubeController::MakeReconciler(const std::string& ns, const std::string& name,
                                                           const ClusterSpec& spec,
                                                           const std::vector<SecretMount>& secrets,
                                                           KubeActuator** actuator_out) {
  ReconcilerOptions o = options_.reconciler;
  o.localNode.clear();  // no sidecar beside this controller
  o.standalone = false;
  o.specPath.clear();
  o.stateDir.clear();
  o.pg.user = spec.postgres.superuser.name;
  o.pg.database = spec.healthCheck.database;
  o.pg.connectTimeoutSeconds = std::max<int>(1, static_cast<int>(spec.healthCheck.timeout.count() / 1000));
  for (const auto& m : secrets) {
    if (m.keys.empty() || (m.volume != "superuser" && m.volume != "api-token")) continue;
    auto v = ReadSecretKey(client_, ns, m.secretName, m.keys.front());
    if (!v.ok()) {
      spdlog::warn("PostgresCluster {}/{}: {} (observing and acting without it)", ns, name, v.error());
      continue;
    }
    (m.volume == "superuser" ? o.pg.password : o.token) = *v;
  }
  LeaseElector* elector = elector_;
  auto actuator = std::make_unique<KubeActuator>(client_, ns, name, [elector](uint64_t t) { elector->Deposed(t); });
  *actuator_out = actuator.get();
  actuator->SetReportingInstance(elector_->identity());
  auto leadership = std::make_unique<KubeLeadership>(elector_, actuator->status());
  ActingHook* hook = actuator.get();
  return std::make_unique<Reconciler>(spec, o, std::move(leadership), std::move(actuator), hook);
}

void KubeController::SyncOne(const std::string& key, const value& cr) {
  const value meta = cr.has_object_field("metadata") ? cr.at("metadata") : value::object();
  const std::string ns = Str(meta, "namespace"), name = Str(meta, "name");
  Cluster& c = clusters_[key];
  if (!c.summary) c.summary = std::make_unique<StatusStore>(client_, ns, name);
  const int64_t generation = Generation(cr);
  if (cr.has_object_field("spec") && cr.at("spec").has_number_field("instances"))
    c.instances = cr.at("spec").at("instances").as_number().to_int32();
  if (generation != c.judgedGeneration) {
    c.judgedGeneration = generation;
    ResourceLoad load = ConvertClusterResourceText(cr.serialize(), key);
    if (!load.ok()) {
      c.refusal.clear();
      for (const auto& e : load.errors) c.refusal += (c.refusal.empty() ? "" : "\n") + e.path + ": " + e.reason;
      spdlog::warn("PostgresCluster {} generation {} refused, nothing changes{}: {}", key, generation,
                   c.reconciler ? " (generation " + std::to_string(c.acceptedGeneration) + " stays in force)" : "",
                   c.refusal);
    } else {
      c.refusal.clear();
      if (!c.reconciler) {
        c.reconciler = MakeReconciler(ns, name, load.resource->spec, load.resource->secrets, &c.actuator);
        c.store = c.actuator->status();
        c.actuator->SetResource(*load.resource, Str(meta, "uid"));
        c.actuator->SetManualFence(c.fence);
        Reconciler* rec = c.reconciler.get();
        c.actuator->SetNodeRequester(
            [rec](const std::string& verb, const std::string& node) { return rec->RequestNode(verb, node); });
        (void)c.reconciler->Start();
        spdlog::info("PostgresCluster {} generation {} accepted ({} instances): reconciling", key, generation,
                     load.resource->instances);
      } else {
        c.actuator->SetResource(*load.resource, Str(meta, "uid"));
        c.reconciler->UseSpec(load.resource->spec, "accepted from generation " + std::to_string(generation));
        spdlog::info("PostgresCluster {} generation {} accepted: the new spec is taken into use", key, generation);
      }
      c.acceptedGeneration = generation;
      c.replication = load.resource->spec.replication;
    }
  }
  SyncFence(c, key, meta);
  WriteSummary(c, name, generation);
}

void KubeController::SyncFence(Cluster& c, const std::string& key, const value& meta) {
  const std::string text =
      meta.has_object_field("annotations") ? Str(meta.at("annotations"), kFencedInstancesAnnotation) : "";
  if (text == c.fenceText) return;
  c.fenceText = text;
  std::vector<std::string> instances;
  for (int i = 0; i < c.instances; ++i) instances.push_back(key.substr(key.find('/') + 1) + "-" + std::to_string(i));
  auto parsed = ParseFencedInstances(text, instances);
  if (!parsed.ok()) {
    c.fenceError = parsed.error();
    spdlog::warn("PostgresCluster {}: {} (the fence stays as it was)", key, parsed.error());
    return;
  }
  c.fenceError.clear();
  c.fence = *parsed;
  c.fenced = c.fence.Expand(instances);
  spdlog::info("PostgresCluster {}: {} = '{}': {} instance(s) fenced", key, kFencedInstancesAnnotation, text,
               c.fenced.size());
  if (c.actuator) c.actuator->SetManualFence(c.fence);
}

void KubeController::WriteSummary(Cluster& c, const std::string& name, int64_t generation) {
  // What the sync thread knows; the state is read from the status being
  // written, when it is written.
  StatusInputs in;
  in.generation = generation;
  in.instances = c.instances;
  in.specValid = c.refusal.empty();
  in.specErrors = c.refusal;
  in.replication = c.replication;
  in.consensusKnown = false;  // no watchdog view in this mode yet (README)
  in.manuallyFenced = c.fenced;
  if (c.reconciler) {
    ClusterStatus s = c.reconciler->GetStatus();
    for (const auto& n : s.nodes)
      if (n.pgStatus == "up" && (n.role == "primary" || n.replicationState == "streaming")) ++in.readyInstances;
    for (const auto& op : s.operations)
      if (op.type == "rebuild" && op.state == "running") in.rebuilding.push_back(op.node);
  }
  const int64_t accepted = c.acceptedGeneration;
  std::string signature = std::to_string(generation) + "|" + std::to_string(accepted) + "|" + c.refusal + "|" +
                          std::to_string(in.instances) + "|" + std::to_string(in.readyInstances) + "|";
  for (const auto& r : in.rebuilding) signature += r + ",";
  signature += "|";
  for (const auto& f : in.manuallyFenced) signature += f + ",";
  if (signature == c.written) return;
  in.now = FormatMicroTime(std::chrono::system_clock::now());
  auto edit = [in, accepted, name](value* status) {
    StatusInputs now = in;
    auto decoded = DecodeStatusState(*status);
    if (decoded.ok()) now.state = decoded->state;
    if (status->has_array_field("conditions")) now.previous = status->at("conditions");
    StatusSummary sum = SummarizeStatus(now);
    (*status)["phase"] = value::string(sum.phase);
    (*status)["phaseReason"] = value::string(sum.phaseReason);
    (*status)["conditions"] = sum.ConditionsJson();
    (*status)["observedGeneration"] = value::number(now.generation);
    if (accepted >= 0) (*status)["acceptedGeneration"] = value::number(accepted);
    (*status)["instances"] = value::number(now.instances);
    (*status)["readyInstances"] = value::number(now.readyInstances);
    (*status)["selector"] = value::string("pgvigil.io/cluster=" + name);
  };
  if (c.store) {
    // The Reconciler's thread writes it, with its next status write or on its own.
    c.store->SetSummary(edit, signature);
    c.written = signature;
    return;
  }
  const uint64_t term = elector_->ActingTerm();
  if (term == 0) return;  // only the acting controller writes status
  c.summary->SetSummary(edit, signature);
  TermOutcome t = c.summary->MakeTermDurable(term);
  if (t.code == TermOutcome::Code::kDeposed) {
    spdlog::warn("deposed: {}", t.detail);
    elector_->Deposed(t.statusTerm);
    return;
  }
  if (t.code != TermOutcome::Code::kDurable) return;  // the next sync tries again
  auto r = c.summary->FlushSummary(term);
  if (r.ok()) c.written = signature;
  else spdlog::debug("status summary of {}/{}: {}", c.summary->ns(), c.summary->name(), r.error());
}

}  // namespace pgvigil::kube
