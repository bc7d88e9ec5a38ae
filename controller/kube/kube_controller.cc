#include "controller/kube/kube_controller.h"

#include <algorithm>

#include <cpprest/asyncrt_utils.h>
#include <spdlog/spdlog.h>

#include "controller/kube/kube_lease.h"
#include "controller/kube/kube_leadership.h"
#include "controller/kube/kube_plan.h"
#include "controller/kube/kube_request.h"
#include "controller/kube/parameter_gate.h"
#include "controller/kube/render_labels.h"
#include "controller/kube/spec_in_force.h"
#include "controller/kube/status_report.h"

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

// status.acceptedGeneration; -1 when absent.
int64_t StatusAccepted(const value& cr) {
  if (!cr.has_object_field("status") || !cr.at("status").has_number_field("acceptedGeneration")) return -1;
  return cr.at("status").at("acceptedGeneration").as_number().to_int64();
}

// What NAME-config records of the spec in force (spec_in_force.h): its owner's
// uid, the recorded generation and spec (null when absent or not JSON).
struct RecordedSpec {
  std::string ownerUid;
  int64_t generation = 0;
  value spec = value::null();
  std::string problem;  // why a recorded spec was not taken ("" none)
};
RecordedSpec ReadRecordedSpec(const value& configmap) {
  RecordedSpec out;
  const value meta = configmap.has_object_field("metadata") ? configmap.at("metadata") : value::object();
  if (meta.has_array_field("ownerReferences"))
    for (const auto& o : meta.at("ownerReferences").as_array())
      if (o.has_boolean_field("controller") && o.at("controller").as_bool()) out.ownerUid = Str(o, "uid");
  if (!meta.has_object_field("annotations")) return out;
  const value& a = meta.at("annotations");
  const std::string gen = Str(a, kAcceptedGenerationAnnotation), spec = Str(a, kAcceptedSpecAnnotation);
  if (gen.empty() && spec.empty()) return out;
  try {
    size_t used = 0;
    out.generation = std::stoll(gen, &used);
    if (used != gen.size() || out.generation <= 0) throw std::invalid_argument(gen);
  } catch (const std::exception&) {
    out.generation = 0;
    out.problem = std::string(kAcceptedGenerationAnnotation) + " '" + gen + "' is not a generation";
    return out;
  }
  try {
    value v = value::parse(spec);
    if (!v.is_object()) throw std::invalid_argument("not an object");
    out.spec = v;
  } catch (const std::exception& e) {
    out.problem = std::string(kAcceptedSpecAnnotation) + " is not a JSON object (" + e.what() + ")";
  }
  return out;
}

// The refused setting and why, as status.conditions' SpecValid=False reason
// ParametersInvalid says it for `generation` ("" for none): the acting
// controller's refusal of that generation.
std::string ParametersRefusalShown(const value& cr, int64_t generation) {
  if (!cr.has_object_field("status") || !cr.at("status").has_array_field("conditions")) return "";
  for (const auto& c : cr.at("status").at("conditions").as_array()) {
    if (Str(c, "type") != "SpecValid" || Str(c, "status") != "False" || Str(c, "reason") != "ParametersInvalid" ||
        !c.has_number_field("observedGeneration") || c.at("observedGeneration").as_number().to_int64() != generation)
      continue;
    std::string m = Str(c, "message");
    const std::string prefix = "postgres.parameters refused: ";
    if (m.rfind(prefix, 0) == 0) m = m.substr(prefix.size());
    return m.substr(0, m.find('\n'));
  }
  return "";
}

// The resource records the generation it was accepted from and its spec as
// written, for NAME-config (render_objects.h, spec_in_force.h).
void RecordAccepted(ClusterResource* res, const value& cr) {
  res->acceptedGeneration = Generation(cr);
  res->acceptedSpec = cr.has_object_field("spec") ? cr.at("spec").serialize() : "";
}

// status.scale {members, replicas} as the acting controller recorded it; 0 when absent.
std::pair<int, int> StatusScale(const value& cr) {
  if (!cr.has_object_field("status") || !cr.at("status").has_object_field("scale")) return {0, 0};
  const value& s = cr.at("status").at("scale");
  auto num = [&s](const char* k) { return s.has_number_field(k) ? s.at(k).as_number().to_int32() : 0; };
  return {num("members"), num("replicas")};
}

// The accepted resource at the membership and replicas in force: converted with
// at least max(members, replicas) instances (a scale-down in progress still runs
// members beyond spec.instances), then cut to `members` nodes.
Result<ClusterResource> ResourceInForce(const value& cr, const std::string& key, int members, int replicas) {
  value copy = cr;
  const int need = std::max(members, replicas);
  if (copy.has_object_field("spec") && copy.at("spec").has_number_field("instances") &&
      copy.at("spec").at("instances").as_number().to_int32() < need)
    copy["spec"]["instances"] = value::number(need);
  ResourceLoad load = ConvertClusterResourceText(copy.serialize(), key);
  if (!load.ok()) return Result<ClusterResource>::Error(load.ErrorText());
  ClusterResource res = AtScale(*load.resource, members, replicas);
  RecordAccepted(&res, cr);
  return res;
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
  actuator->SetSidecarToken(o.token);
  actuator->SetTermRaiser([elector](uint64_t above, const std::string& why) { elector->RaiseEpochAbove(above, why); });
  actuator->SetActingTerm([elector] { return elector->ActingTerm(); });
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
      // It replaces a generation waiting for (or refused by) the parameter check.
      c.candidate.reset();
      c.parametersRefusal.clear();
      spdlog::warn("PostgresCluster {} generation {} refused, nothing changes{}: {}", key, generation,
                   c.reconciler ? " (generation " + std::to_string(c.acceptedGeneration) + " stays in force)" : "",
                   c.refusal);
    } else {
      c.refusal.clear();
      c.candidate = Candidate{generation, cr, *load.resource};
    }
  }
  // A process's first spec of a cluster: the one in force, when the current
  // generation is not the accepted one or is refused (spec_in_force.h).
  if ((c.candidate || !c.refusal.empty()) && !c.reconciler && !c.inForceLooked) StartOnSpecInForce(c, key, cr);
  if (c.candidate && (c.reconciler || c.inForceLooked)) JudgeCandidate(c, key, cr);
  SyncFence(c, key, meta);
  SyncScale(c, key, cr);
  SyncRollout(c, key, cr);
  SyncRequest(c, key, cr);
  WriteSummary(c, name, generation);
}

void KubeController::StartOnSpecInForce(Cluster& c, const std::string& key, const value& cr) {
  const value meta = cr.has_object_field("metadata") ? cr.at("metadata") : value::object();
  const std::string ns = Str(meta, "namespace"), name = Str(meta, "name");
  SpecInForceInputs in;
  in.generation = Generation(cr);
  in.statusAccepted = StatusAccepted(cr);
  in.uid = Str(meta, "uid");
  in.currentValid = c.candidate.has_value();
  RecordedSpec recorded;
  if (NeedsSpecInForce(in)) {
    auto r = client_->Get(ResourcePath("", "v1", "configmaps", ns, name + "-config"));
    using CM = SpecInForceInputs::ConfigMap;
    if (!r.ok()) {
      in.configMap = CM::kUnreadable;
      in.readError = r.error();
    } else if (r->code == 404) {
      in.configMap = CM::kAbsent;
    } else if (!r->ok()) {
      in.configMap = CM::kUnreadable;
      in.readError = r->Describe();
    } else {
      in.configMap = CM::kPresent;
      recorded = ReadRecordedSpec(r->body);
      in.ownerUid = recorded.ownerUid;
      in.recordedGeneration = recorded.generation;
      in.recordedSpec = recorded.spec.is_object();
    }
  }
  const SpecInForceDecision d = DecideSpecInForce(in);
  if (d.reason != c.inForceLogged) {
    c.inForceLogged = d.reason;
    // Warned: NAME-config unreadable, or there but without a spec to restore.
    const bool warn = d.kind == SpecInForceDecision::Kind::kRetry ||
                      (d.kind == SpecInForceDecision::Kind::kTakeCurrent &&
                       in.configMap == SpecInForceInputs::ConfigMap::kPresent);
    spdlog::log(warn ? spdlog::level::warn : spdlog::level::info, "PostgresCluster {}: spec in force {}: {}{}", key,
                ToString(d.kind), d.reason, recorded.problem.empty() ? "" : " (NAME-config: " + recorded.problem + ")");
  }
  if (d.kind == SpecInForceDecision::Kind::kRetry) return;
  c.inForceLooked = true;
  if (d.kind != SpecInForceDecision::Kind::kRestore) return;
  // The resource in force: its recorded spec under its generation; metadata
  // and status as they are now (status.scale gives the membership in force).
  value in_force = cr;
  in_force["spec"] = recorded.spec;
  in_force["metadata"]["generation"] = value::number(recorded.generation);
  ResourceLoad load = ConvertClusterResourceText(in_force.serialize(), key);
  if (!load.ok()) {
    spdlog::warn("PostgresCluster {}: the spec NAME-config records (generation {}) does not convert ({}): the spec "
                 "in force cannot be reconstructed; {}",
                 key, recorded.generation, load.ErrorText(),
                 in.currentValid ? "started on generation " + std::to_string(in.generation) +
                                       " (its parameters unchecked)"
                                 : "nothing starts until a generation is accepted");
    return;
  }
  Accept(c, key, Candidate{recorded.generation, in_force, *load.resource}, d.reason);
  if (!in.currentValid) return;  // c.refusal keeps SpecValid=False
  // The status keeps saying the acting controller refused this generation
  // until this process's own check has a verdict (SpecValid does not flip to
  // True meanwhile).
  c.parametersRefusal = ParametersRefusalShown(cr, in.generation);
  if (!c.parametersRefusal.empty())
    spdlog::info("PostgresCluster {}: generation {}'s parameters refusal as the status shows it stays until this "
                 "process's own check: {}", key, in.generation, c.parametersRefusal);
}

void KubeController::JudgeCandidate(Cluster& c, const std::string& key, const value& cr) {
  Candidate& cand = *c.candidate;
  ParameterGateInputs in;
  in.generation = cand.generation;
  in.running = c.reconciler != nullptr;
  in.parametersChanged = cand.resource.spec.postgres.parameters != c.acceptedParameters;
  in.statusAccepted = StatusAccepted(cr);
  if (c.actuator) in.verdict = c.actuator->CandidateVerdict(cand.generation);
  const ParameterGateDecision d = DecideParameterGate(in);
  const std::string in_force =
      c.acceptedGeneration >= 0 ? "generation " + std::to_string(c.acceptedGeneration) + " stays in force" : "";
  if (d.reason != c.gateLogged) {
    c.gateLogged = d.reason;
    if (d.kind == ParameterGateDecision::Kind::kRefuse)
      spdlog::warn("PostgresCluster {} generation {} refused, nothing changes ({}; instances, image and "
                   "everything else of it wait for a generation whose parameters pass): {}",
                   key, cand.generation, in_force, d.reason);
    else if (d.kind == ParameterGateDecision::Kind::kPending)
      spdlog::info("PostgresCluster {} generation {} not taken into use yet ({}): {}", key, cand.generation,
                   in_force, d.reason);
  }
  switch (d.kind) {
    case ParameterGateDecision::Kind::kPending:
      if (c.actuator) c.actuator->CheckCandidate(cand.generation, cand.resource.spec.postgres.parameters);
      return;
    case ParameterGateDecision::Kind::kRefuse:
      c.parametersRefusal =
          in.verdict->detail + (in.verdict->node.empty() ? "" : " (checked by " + in.verdict->node + ")");
      return;
    case ParameterGateDecision::Kind::kAccept:
      break;
  }
  Candidate taken = std::move(cand);
  c.candidate.reset();
  c.parametersRefusal.clear();
  Accept(c, key, taken, d.reason);
}

void KubeController::Accept(Cluster& c, const std::string& key, const Candidate& cand, const std::string& why) {
  const value& cr = cand.cr;
  const value meta = cr.has_object_field("metadata") ? cr.at("metadata") : value::object();
  const std::string ns = Str(meta, "namespace"), name = Str(meta, "name");
  const int64_t generation = cand.generation;
  const ClusterResource& resource = cand.resource;
  c.acceptedCr = cr;
  c.desired = resource.instances;
  c.uid = Str(meta, "uid");
  if (!c.reconciler) {
    // The membership in force, as the acting controller recorded it; a new
    // cluster (or one from before scaling) starts at spec.instances.
    auto [members, replicas] = StatusScale(cr);
    c.members = members > 0 ? members : c.desired;
    c.replicas = replicas > 0 ? replicas : c.members;
    auto res = ResourceInForce(cr, key, c.members, c.replicas);
    if (!res.ok()) {
      spdlog::warn("PostgresCluster {}: status.scale (members {}, replicas {}) does not convert ({}): starting at "
                   "spec.instances {}",
                   key, c.members, c.replicas, res.error(), c.desired);
      c.members = c.replicas = c.desired;
      res = resource;
      RecordAccepted(&*res, cr);
    }
    if (options_.adjustResource) options_.adjustResource(&*res);
    c.reconciler = MakeReconciler(ns, name, res->spec, res->secrets, &c.actuator);
    c.store = c.actuator->status();
    c.actuator->SetResource(*res, c.uid);
    c.actuator->SetManualFence(c.fence);
    Reconciler* rec = c.reconciler.get();
    c.actuator->SetNodeRequester(
        [rec](const std::string& verb, const std::string& node) { return rec->RequestNode(verb, node); });
    c.actuator->SetDecisionRecorder(
        [rec](const std::string& action, const std::string& node, const std::string& reason) {
          rec->RecordDecision(action, node, reason);
        });
    // A parameter verdict wakes the sync thread: the generation it was for is
    // taken up (or held) at once.
    c.actuator->SetVerdictListener([this] {
      {
        std::lock_guard<std::mutex> lock(mu_);
        changed_ = true;
      }
      cv_.notify_all();
    });
    (void)c.reconciler->Start();
    spdlog::info("PostgresCluster {} generation {} accepted ({} instances; {} members and {} replicas in "
                 "force): reconciling ({})",
                 key, generation, resource.instances, c.members, c.replicas, why);
  } else {
    (void)Rescale(c, key, "accepted from generation " + std::to_string(generation));
    spdlog::info("PostgresCluster {} generation {} accepted ({} instances; {} members and {} replicas in force): "
                 "the new spec is taken into use ({})",
                 key, generation, c.desired, c.members, c.replicas, why);
  }
  c.acceptedGeneration = generation;
  c.actuator->DropCandidatesUpTo(generation);
  c.acceptedParameters = resource.spec.postgres.parameters;
  c.replication = resource.spec.replication;
}

Status KubeController::Rescale(Cluster& c, const std::string& key, const std::string& why) {
  auto res = ResourceInForce(c.acceptedCr, key, c.members, c.replicas);
  if (!res.ok()) {
    spdlog::error("PostgresCluster {}: {} members and {} replicas do not convert: {}", key, c.members, c.replicas,
                  res.error());
    return Status::Error(res.error());
  }
  if (options_.adjustResource) options_.adjustResource(&*res);
  c.actuator->SetResource(*res, c.uid, why + " (" + std::to_string(c.members) + " members)");
  c.reconciler->UseSpec(res->spec, why);
  return Status::Ok();
}

std::map<std::string, ScaleInstance> KubeController::ObservedInstances(const ClusterStatus& s) {
  std::map<std::string, ScaleInstance> out;
  for (const auto& n : s.nodes) {
    ScaleInstance i;
    i.primary = n.pgStatus == "up" && n.role == "primary" && n.pgRole == "primary";
    i.streaming = n.pgStatus == "up" && n.replicationState == "streaming";
    out[n.name] = i;
  }
  return out;
}

void KubeController::RequestOnce(SentRequest* sent, const std::string& key, const char* topic,
                                 const std::string& what, const std::string& why,
                                 const std::function<Status()>& send) {
  const auto now = std::chrono::steady_clock::now();
  if (sent->what == what && now - sent->at < std::chrono::seconds(30)) return;
  Status r = send();
  spdlog::info("PostgresCluster {}: {}: {} requested ({}): {}", key, topic, what, r.ok() ? "ok" : r.message(), why);
  sent->what = what;
  sent->at = now;
}

void KubeController::SyncScale(Cluster& c, const std::string& key, const value& cr) {
  if (!c.reconciler) return;
  if (!c.reconciler->acting() || elector_->ActingTerm() == 0) {
    // Not acting: follow what the acting controller recorded.
    c.scale.reset();
    auto [members, replicas] = StatusScale(cr);
    if (members > 0 && replicas > 0 && (members != c.members || replicas != c.replicas)) {
      c.members = members;
      c.replicas = replicas;
      (void)Rescale(c, key, "status.scale: " + std::to_string(members) + " members, " + std::to_string(replicas) +
                                " replicas");
    }
    return;
  }
  ScaleInputs in;
  in.cluster = key.substr(key.find('/') + 1);
  in.desired = c.desired;
  in.members = c.members;
  in.replicas = c.replicas;
  if (cr.has_object_field("status")) {
    auto decoded = DecodeStatusState(cr.at("status"));
    if (decoded.ok()) in.state = decoded->state;
  }
  in.instances = ObservedInstances(c.reconciler->GetStatus());
  const ScaleStep step = NextScaleStep(in);
  c.scale = step;
  if (step.reason != c.scaleLogged) {
    spdlog::info("PostgresCluster {}: scale {}: {}", key, ToString(step.kind), step.reason);
    c.scaleLogged = step.reason;
  }
  // The instance leaving stays detached until it is gone (the manual fence's
  // attach of unfenced detached instances must not bring it back).
  const bool leaving = step.kind == ScaleStepKind::kDetach || step.kind == ScaleStepKind::kRemoveMember ||
                       step.kind == ScaleStepKind::kRemoveReplica ||
                       (step.kind == ScaleStepKind::kWait &&
                        (step.waitReason == "RoutingNotUpdated" || step.waitReason == "WouldLoseMajority"));
  c.actuator->SetScaleLeaving(leaving ? step.instance.empty() ? InstanceName(in.cluster, c.members - 1) : step.instance
                                      : "");
  auto request_once = [&](const std::string& what, const std::function<Status()>& send) {
    RequestOnce(&c.scaleRequested, key, "scale", what, step.reason, send);
  };
  switch (step.kind) {
    case ScaleStepKind::kAddInstance:
    case ScaleStepKind::kRemoveMember:
    case ScaleStepKind::kRemoveReplica: {
      const int old_members = c.members, old_replicas = c.replicas;
      c.members = step.members;
      c.replicas = step.replicas;
      if (!Rescale(c, key, std::string("scale ") + ToString(step.kind) + " " + step.instance).ok()) {
        c.members = old_members;
        c.replicas = old_replicas;
      }
      break;
    }
    case ScaleStepKind::kSwitchover:
      request_once("switchover " + step.instance + " " + step.target,
                   [&] { return c.reconciler->RequestSwitchover(step.target); });
      break;
    case ScaleStepKind::kDetach:
      request_once("detach " + step.instance, [&] { return c.reconciler->RequestNode("detach", step.instance); });
      break;
    case ScaleStepKind::kSteady:
    case ScaleStepKind::kWait:
      break;
  }
}

void KubeController::SyncRequest(Cluster& c, const std::string& key, const value& cr) {
  const value meta = cr.has_object_field("metadata") ? cr.at("metadata") : value::object();
  const std::string text = meta.has_object_field("annotations") ? Str(meta.at("annotations"), kRequestAnnotation) : "";
  const value record = cr.has_object_field("status") && cr.at("status").has_object_field("lastRequest")
                           ? cr.at("status").at("lastRequest")
                           : value::null();
  const std::string recorded = Str(record, "id");  // status.lastRequest.id
  const std::string name = Str(meta, "name");
  if (c.handOff) {
    HandOffDecision h = DecideHandOff(c.handOff->id, c.handOffTerm, record, elector_->ActingTerm());
    if (h.kind != HandOffDecision::Kind::kWait) HandOffRequest(c, key, h);
  }
  RequestDecision d = DecideRequest(text, recorded, InstanceNames(name, c.members > 0 ? c.members : c.instances));
  if (d.kind == RequestDecision::Kind::kNone) return;
  const std::string handled = d.request.id.empty() ? text : d.request.id;
  if (handled == c.handledRequest) return;  // filed here; its record is not in the status yet
  // Only the acting controller consumes requests: its record is written under
  // the durable term (a deposed one's write fails its compare-and-swap).
  const uint64_t term = elector_->ActingTerm();
  if (term == 0) return;
  if (d.kind == RequestDecision::Kind::kFile && !c.reconciler) {
    d.kind = RequestDecision::Kind::kRefuse;
    d.reason = "the cluster's spec was never accepted (SpecValid=False): nothing runs to " + d.request.action;
  }
  const bool accepted = d.kind == RequestDecision::Kind::kFile;
  const std::string message = d.reason;
  // Recorded first (status.lastRequest, written with the summary under the
  // durable term); the planner gets it once that record is read back.
  if (accepted) {
    c.handOff = d.request;
    c.handOffTerm = term;
  }
  if (accepted)
    spdlog::info("PostgresCluster {}: {}: accepted (term {}); handed to the planner once status.lastRequest holds it",
                 key, message, term);
  else
    spdlog::warn("PostgresCluster {}: request {} refused (term {}): {}", key, d.request.id, term, message);
  c.handledRequest = handled;
  c.lastRequest = RequestRecord(d.request, accepted, message, term,
                                FormatMicroTime(std::chrono::system_clock::now()));
  if (c.actuator)
    c.actuator->Emit(accepted ? "Normal" : "Warning", accepted ? "RequestAccepted" : "RequestRefused", "Request",
                     message);
}

void KubeController::HandOffRequest(Cluster& c, const std::string& key, const HandOffDecision& h) {
  const OperatorRequest r = *c.handOff;
  const uint64_t term = c.handOffTerm;
  c.handOff.reset();
  if (h.kind != HandOffDecision::Kind::kHandOff || !c.reconciler) {
    // At most once: no other controller's run is repeated here. A record of
    // this controller's that the status does not hold is not written later,
    // under another term, over what the status holds.
    if (!h.recordHeld && c.lastRequest.is_object() && Str(c.lastRequest, "id") == r.id)
      c.lastRequest = value::null();
    spdlog::warn("PostgresCluster {}: request {} ({} {}) recorded but not carried out here: {}", key, r.id,
                 r.action, r.instance, c.reconciler ? h.reason : "the cluster has no reconciler");
    return;
  }
  Status s = r.action == "switchover" ? c.reconciler->RequestSwitchover(r.instance)
                                      : c.reconciler->RequestNode("recover", r.instance);
  if (s.ok()) {
    spdlog::info("PostgresCluster {}: request {} ({} {}) durable in status.lastRequest: handed to the planner (term {})",
                 key, r.id, r.action, r.instance, term);
    return;
  }
  const std::string message = r.action + " " + r.instance + " refused: " + s.message();
  spdlog::warn("PostgresCluster {}: request {} refused (term {}): {}", key, r.id, term, message);
  c.lastRequest = RequestRecord(r, false, message, term, FormatMicroTime(std::chrono::system_clock::now()));
  if (c.actuator) c.actuator->Emit("Warning", "RequestRefused", "Request", message);
}

namespace {

// The parts of a status that change all the time (lag, select counts, progress):
// they alone refresh status.report only every reportPeriod.
ClusterStatus StablePart(ClusterStatus s) {
  for (auto& n : s.nodes) {
    if (n.lagBytes > 0) n.lagBytes = 0;
    n.selectCount = 0;
    n.lsn.clear();
  }
  for (auto& o : s.operations) o.percent = -1;
  return s;
}

}  // namespace

void KubeController::SyncReport(Cluster& c) {
  if (!c.reconciler) return;
  ClusterStatus s = c.reconciler->GetStatus();
  if (!s.acting) return;  // only the acting controller's view is written
  if (s.events.size() > kMaxLastEvents) s.events.erase(s.events.begin(), s.events.end() - kMaxLastEvents);
  const std::string stable = ToJson(StablePart(s)).serialize(), full = ToJson(s).serialize();
  const auto now = std::chrono::steady_clock::now();
  if (stable == c.reportStable && (full == c.reportFull || now - c.reportAt < options_.reportPeriod)) return;
  c.report = ToJson(s);
  c.reportedState = InstancesReportedStateJson(s);
  c.lastEvents = LastEventsJson(s.events);
  c.reportStable = stable;
  c.reportFull = full;
  c.reportAt = now;
  ++c.reportSeq;
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
  in.instances = c.members > 0 ? c.members : c.instances;
  if (c.scale && c.scale->scaling())
    in.wait = Wait{c.scale->kind == ScaleStepKind::kWait ? c.scale->waitReason : "Scaling", c.scale->reason, false};
  else if (c.rollout && c.rollout->rolling())
    in.wait = Wait{c.rollout->kind == RolloutStepKind::kWait ? c.rollout->waitReason : "RollingUpdate",
                   c.rollout->reason, false};
  // A lost instance's pod (node_loss.h) before a scale step: it is why capacity is short.
  if (c.actuator && c.reconciler && c.reconciler->acting()) {
    if (auto lost = c.actuator->NodeLossWait()) in.wait = lost;
    if (auto held = c.actuator->SelfFenceWait()) in.wait = held;
    in.parameterFailures = c.actuator->ParameterFailures();
  }
  in.specValid = c.refusal.empty();
  in.specErrors = c.refusal;
  // A generation held for its parameters (parameter_gate.h), else the accepted
  // resource's parameters held back by the actuator's own check.
  in.parametersRefused = c.parametersRefusal;
  if (in.parametersRefused.empty() && c.actuator) in.parametersRefused = c.actuator->ParametersRefused();
  in.replication = c.replication;
  in.consensusKnown = false;  // no watchdog view in this mode yet (README)
  in.manuallyFenced = c.fenced;
  // instancesStatus only where a Reconciler observes the instances.
  std::optional<value> instances_status;
  std::vector<std::string> healthy;
  if (c.reconciler) {
    ClusterStatus s = c.reconciler->GetStatus();
    for (const auto& n : s.nodes)
      if (IsReady(n)) {
        ++in.readyInstances;
        healthy.push_back(n.name);
      }
    for (const auto& op : s.operations)
      if (op.type == "rebuild" && op.state == "running") in.rebuilding.push_back(op.node);
    in.notStreaming = StandbysNotStreaming(s);
    std::vector<std::string> names;
    for (int i = 0; i < in.instances; ++i) names.push_back(name + "-" + std::to_string(i));
    instances_status = InstancesStatusJson(names, healthy, in.rebuilding);
  }
  const int64_t accepted = c.acceptedGeneration;
  std::string signature = std::to_string(generation) + "|" + std::to_string(accepted) + "|" + c.refusal + "|" +
                          std::to_string(in.instances) + "|" + std::to_string(in.readyInstances) + "|";
  for (const auto& h : healthy) signature += h + ",";
  signature += "|";
  for (const auto& r : in.rebuilding) signature += r + ",";
  signature += "|";
  for (const auto& n : in.notStreaming) signature += n + ",";
  signature += "|";
  for (const auto& f : in.manuallyFenced) signature += f + ",";
  const int members = c.members, replicas = c.replicas;
  const std::string scale_step = c.scale ? ToString(c.scale->kind) : "", scale_instance = c.scale ? c.scale->instance : "";
  signature += "|" + std::to_string(members) + "/" + std::to_string(replicas) + "|" + (in.wait ? in.wait->message : "");
  for (const auto& f : in.parameterFailures) signature += "|parameters " + f;
  signature += "|" + in.parametersRefused;
  // status.rollout (kube_rollout.h): the update revision and how many members' pods are on it.
  value rollout = value::null();
  if (c.rollout && !c.updateRevision.empty()) {
    rollout = value::object();
    rollout["updateRevision"] = value::string(c.updateRevision);
    rollout["updatedInstances"] = value::number(c.rollout->updated);
    rollout["step"] = value::string(ToString(c.rollout->kind));
    if (!c.rollout->instance.empty()) rollout["instance"] = value::string(c.rollout->instance);
    signature += "|rollout " + rollout.serialize();
  }
  SyncReport(c);
  signature += "|report " + std::to_string(c.reportSeq);
  if (!c.lastRequest.is_null()) signature += "|request " + c.lastRequest.serialize();
  if (signature == c.written) return;
  in.now = FormatMicroTime(std::chrono::system_clock::now());
  const value report = c.report, last_request = c.lastRequest, reported_state = c.reportedState,
              last_events = c.lastEvents;
  auto edit = [in, accepted, name, members, replicas, scale_step, scale_instance, report, last_request,
               instances_status, reported_state, last_events, rollout](value* status) {
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
    if (instances_status) (*status)["instancesStatus"] = *instances_status;
    (*status)["selector"] = value::string("pgvigil.io/cluster=" + name);
    if (members > 0) {
      // The membership and StatefulSet replicas in force (kube_scale.h); a new
      // acting controller starts from them.
      value scale = value::object();
      scale["members"] = value::number(members);
      scale["replicas"] = value::number(replicas);
      if (!scale_step.empty()) scale["step"] = value::string(scale_step);
      if (!scale_instance.empty()) scale["instance"] = value::string(scale_instance);
      (*status)["scale"] = scale;
    }
    if (!report.is_null()) {
      (*status)["report"] = report;
      (*status)["reportedAt"] = value::string(in.now);
      (*status)["instancesReportedState"] = reported_state;
      (*status)["lastEvents"] = last_events;
    }
    if (!last_request.is_null()) (*status)["lastRequest"] = last_request;
    if (!rollout.is_null()) (*status)["rollout"] = rollout;
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
