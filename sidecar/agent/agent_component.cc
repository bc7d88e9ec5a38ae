#include "sidecar/agent/agent_component.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/agent_refusal.h"
#include "common/files.h"
#include "common/http_server.h"
#include "common/logging.h"
#include "common/node_operation.h"
#include "common/sidecar_status.h"
#include "common/utc_time.h"
#include "sidecar/agent/agent_metrics.h"
#include "sidecar/agent/health_checker.h"
#include "sidecar/agent/local_postgres.h"
#include "sidecar/agent/node_operations.h"
#include "sidecar/agent/operations.h"
#include "sidecar/agent/peer_handlers.h"
#include "sidecar/agent/pod_lifecycle.h"
#include "sidecar/agent/postgres_parameters.h"
#include "sidecar/agent/rebuild_plan.h"
#include "sidecar/agent/op_request.h"
#include "sidecar/agent/probes.h"
#include "sidecar/agent/rest_routes.h"
#include "sidecar/agent/self_fence.h"
#include "sidecar/agent/refused_parameters.h"
#include "sidecar/agent/spec_update.h"
#include "sidecar/agent/term_store.h"

namespace pgvigil {

namespace {

using web::json::value;

SidecarBackend BackendStatus(const BackendHealth& b) {
  SidecarBackend v;
  v.node = b.node;
  v.up = b.up;
  v.role = ToString(b.role);
  v.timeline = b.timeline;
  v.lsn = b.lsn;
  v.receivedLsn = b.receivedLsn;
  v.replayLagBytes = b.replayLagBytes;
  v.lastError = b.lastError;
  v.lastChange = IsoTime(b.lastChange);
  v.lastCheck = IsoTime(b.lastCheck);
  return v;
}

// This node as the operations see it, with the live membership (follow and
// rebuild sources may have joined after the start).
LocalNode NodeOf(SidecarContext& ctx) {
  ctx.InitMembership();
  LocalNode n = LocalNode::From(ctx.spec, ctx.nodeName, ctx.stateDir);
  n.membership = ctx.membership;
  return n;
}

class AgentComponent : public Component {
 public:
  AgentComponent(SidecarContext& ctx, std::vector<std::unique_ptr<Component>>* parts)
      : ctx_((ctx.InitMembership(), ctx)),
        parts_(parts),
        metrics_(*ctx.metrics),
        terms_(ctx.stateDir.empty() ? "" : ctx.stateDir + "/term"),
        checker_(std::make_shared<HealthChecker>(ctx.spec, ctx.nodeName, ctx.health, ctx.metrics)),
        ops_(std::make_shared<OperationRegistry>()),
        runner_(std::make_shared<NodeOperations>(NodeOf(ctx))),
        params_(std::make_shared<ParameterApplier>(
            LocalNode::From(ctx.spec, ctx.nodeName, ctx.stateDir))) {
    params_->SetAside(ctx.parametersSetAside);
  }
  ~AgentComponent() override { Stop(); }

  const char* name() const override { return "agent"; }

  Status Start() override {
    if (!ctx_.spec.FindNode(ctx_.nodeName))
      return Status::Error("node '" + ctx_.nodeName + "' is not in the spec");
    if (!ctx_.stateDir.empty()) {
      if (Status s = EnsureDir(ctx_.stateDir); !s.ok()) return s;
    }
    if (Status s = terms_.Load(); !s.ok()) return s;
    if (ctx_.kubernetes && !ctx_.stateDir.empty()) {
      auto rec = LoadSelfFenceRecord(ctx_.stateDir);
      if (!rec.ok()) return rec.status();
      std::lock_guard<std::mutex> l(fenceMu_);
      selfFencedTerm_ = *rec;
      if (selfFencedTerm_)
        spdlog::warn("agent: this node fenced itself in term {}: PostgreSQL stays stopped until a "
                     "controller with a newer term acts", *selfFencedTerm_);
    }
    metrics_.highestTerm.Set(static_cast<double>(terms_.highest()));
    if (!ctx_.spec.api.tokenFile.empty()) {
      auto t = ReadSecretFile(ctx_.spec.api.tokenFile);
      if (!t.ok()) return t.status().Context("api.tokenFile");
      token_ = *t;
    } else {
      spdlog::warn("agent: spec.api.tokenFile is not set; every mutating request will be refused");
    }
    if (Status s = checker_->Start(); !s.ok()) return s;
    specGeneration_ = ctx_.membership->generation();
    membershipSub_ = ctx_.membership->Subscribe(
        [c = checker_](const std::shared_ptr<const NodeList>& nodes, uint64_t) { c->SetNodes(*nodes); });
    // The members may have changed between the checker's start and the subscription.
    checker_->SetNodes(*ctx_.membership->Nodes());
    if (ctx_.watchdog) {  // self-fencing of an isolated primary (self_fence.h)
      SelfFence::Options fo;
      fo.dataDir = ctx_.spec.DataDir(ctx_.self());
      fo.escalateAfter = ctx_.spec.watchdog.heartbeatInterval / 4;
      if (ctx_.kubernetes) {  // immediate stop, and stay stopped until a newer term
        fo.immediate = true;
        fo.onFenced = [this] { RecordSelfFence(); };
      }
      fence_ = std::make_unique<SelfFence>(fo, ctx_.watchdog, *ctx_.metrics);
      fence_->Start();
    }
    if (ctx_.health) ctx_.health->SetCheckRequester([c = checker_.get()] { c->Poke(); });
    // postgres.parameters -> pgvigil.conf (+ reload when it changed); off the start
    // path: a reload waits for the server. The thread owns what it uses.
    // Kubernetes: the sidecar starts a standby itself (pod_lifecycle.h).
    // Stop waits a moment for it (bootDone_), so that a sidecar stopped right
    // after its start does not leave it connecting while the process exits.
    std::thread([p = params_, kube = ctx_.kubernetes, done = bootDone_,
                 node = LocalNode::From(ctx_.spec, ctx_.nodeName, ctx_.stateDir)] {
      (void)p->Apply();
      if (kube) {
        if (Status s = StartAtBoot(node); !s.ok())
          spdlog::error("agent: starting PostgreSQL at start: {}", s.message());
        (void)p->Apply();
      }
      done->store(true);
    }).detach();
    server_ = std::make_unique<HttpServer>(
        "agent", ctx_.spec.api.listen, ctx_.spec.ApiPort(ctx_.self()), ctx_.spec.api.tls,
        [this](const ApiRequest& r) { return Handle(r); },
        [this](const ApiRequest& head) { return Admit(head); }, LimitsFromSpec(ctx_.spec.api));
    if (Status s = server_->Start(); !s.ok()) {
      checker_->Stop();
      return s;
    }
    return Status::Ok();
  }

  void Stop() override {
    if (server_) server_->Stop();
    server_.reset();
    // A running operation and the start thread keep going on their own threads
    // (they own what they use); give them one moment together, then leave them:
    // Stop must return within seconds.
    bool warned_op = false, warned_boot = false;
    for (int i = 0; i < 50; ++i) {
      auto op = ops_->Latest();
      const bool op_runs = op && op->running(), booting = !bootDone_->load();
      if (!op_runs && !booting) break;
      if (op_runs && !warned_op) spdlog::warn("agent: stopping while operation {} runs", op->id());
      if (booting && !warned_boot)
        spdlog::warn("agent: stopping while postgres.parameters are still being applied at start");
      warned_op = warned_op || op_runs;
      warned_boot = warned_boot || booting;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (ctx_.health) ctx_.health->SetCheckRequester(nullptr);
    if (membershipSub_) ctx_.membership->Unsubscribe(membershipSub_);
    membershipSub_ = 0;
    if (fence_) fence_->Stop();
    checker_->Stop();
  }

  value Summary() const override {
    auto v = value::object();
    v["term"] = value::number(terms_.highest());
    v["postgres"] = ToJson(checker_->Local());
    return v;
  }

 private:
  static Status EnsureDir(const std::string& dir) {
    std::string cur;
    for (size_t i = 0; i <= dir.size(); ++i) {
      if (i == dir.size() || (dir[i] == '/' && i > 0)) {
        cur = dir.substr(0, i);
        if (::mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST)
          return Status::Error("creating " + cur + ": " + std::strerror(errno));
      }
    }
    return Status::Ok();
  }

  ApiResponse Handle(const ApiRequest& req) { return Count(req, Dispatch(req)); }

  // Before the body is read: 404/405/401 from the method, path and token alone.
  std::optional<ApiResponse> Admit(const ApiRequest& head) {
    auto refusal = AdmitBeforeBody(head, token_);
    if (refusal) Count(head, *refusal);
    return refusal;
  }

  ApiResponse Count(const ApiRequest& req, ApiResponse r) {
    if (r.status == 401) metrics_.unauthorized.Inc();
    if (r.status < 300) metrics_.requests2xx.Inc();
    else if (r.status < 500) metrics_.requests4xx.Inc();
    else metrics_.requests5xx.Inc();
    // The path and body come from the client: escaped, so they cannot forge log lines.
    if (r.status >= 400 && r.status != 503)
      spdlog::info("agent: REST {} {} -> {} {}", LogEscape(req.method), LogEscape(req.path), r.status,
                   LogEscape(r.body, 512));
    return r;
  }

  ApiResponse Dispatch(const ApiRequest& req) {
    if (auto refusal = AdmitBeforeBody(req, token_)) return *refusal;
    RouteMatch m = MatchRoute(req.method, req.path);
    if (m.isProbe()) return EvaluateProbe(m.route, req.query, checker_->Local());
    switch (m.route) {
      case Route::kStatus: return JsonResponse(200, StatusJson());
      case Route::kMetrics: {
        ApiResponse r;
        r.contentType = "text/plain; version=0.0.4";
        r.body = ctx_.metrics->Render();
        return r;
      }
      case Route::kWatchdog:
      case Route::kWatchdogRegisterGet:
      case Route::kWatchdogRegisterPut:
      case Route::kProxyRoutingGet:
      case Route::kProxyRoutingPut:
      case Route::kProxyPause:
      case Route::kProxyResume:
      case Route::kProxyPoolNodes:
        return HandlePeerRoute(m.route, req, ctx_.proxy, ctx_.watchdog,
                               [this](uint64_t term) { return CheckTerm(term); }, ctx_.health.get());
      case Route::kNodeTerm: return HandleTerm(req);
      case Route::kNodeSpec: return HandleSpec(req);
      case Route::kNodeOperation: return HandleOperation(m.operation, req);
      case Route::kOperationList: {
        auto list = value::array();
        size_t i = 0;
        for (const auto& s : ops_->Recent()) list[i++] = s.ToJson();
        auto v = value::object();
        v["operations"] = list;
        return JsonResponse(200, v);
      }
      case Route::kOperationGet: {
        auto op = ops_->Find(m.operationId);
        if (!op) return ErrorResponse(404, "no operation " + m.operationId);
        return JsonResponse(200, op->Snapshot().ToJson());
      }
      default: return ErrorResponse(404, "no such path: " + req.path);
    }
  }

  // 409 response when `term` is stale or cannot be persisted; nullopt when accepted.
  std::optional<ApiResponse> CheckTerm(uint64_t term) {
    std::string err;
    auto verdict = terms_.Observe(term, &err);
    metrics_.highestTerm.Set(static_cast<double>(terms_.highest()));
    if (verdict == TermStore::Verdict::kAccepted) return std::nullopt;
    if (verdict == TermStore::Verdict::kPersistFailed)
      return ErrorResponse(500, "cannot persist term: " + err);
    if (verdict == TermStore::Verdict::kOutOfRange) {
      spdlog::warn("agent: refused request: {}", err);
      return JsonResponse(400, ToJson(AgentRefusal{err, refusal::kTermOutOfRange, "term", terms_.highest(), {}}));
    }
    metrics_.staleTerm.Inc();
    spdlog::warn("agent: refused request with stale term {} (highest seen {})", term,
                 terms_.highest());
    return JsonResponse(409, ToJson(AgentRefusal{"term " + std::to_string(term) + " is older than the highest seen (" +
                                                     std::to_string(terms_.highest()) + ")",
                                                 refusal::kStaleTerm, "term", terms_.highest(), {}}));
  }

  // The self-fence has stopped PostgreSQL: remember the term (pod_lifecycle.h).
  void RecordSelfFence() {
    const uint64_t term = terms_.highest();
    {
      std::lock_guard<std::mutex> l(fenceMu_);
      selfFencedTerm_ = term;
    }
    if (Status s = SaveSelfFenceRecord(ctx_.stateDir, term); !s.ok())
      spdlog::error("agent: cannot persist the self-fence record: {}", s.message());
  }

  ApiResponse HandleTerm(const ApiRequest& req) {
    TermRequest t;
    RequestError e;
    if (!ParseTermRequest(req.body, &t, &e)) return ErrorResponse(400, e.reason, e.field);
    if (auto refused = CheckTerm(t.term)) return *refused;
    auto v = value::object();
    v["term"] = value::number(terms_.highest());
    return JsonResponse(200, v);
  }

  // PUT /v1/node/spec: spec_update.h decides; parameters PostgreSQL would not
  // take by its pg_settings are refused before anything is stored; the
  // accepted copy is stored before the members change, and rolled back to the
  // settings that took when the reload refuses one (refused_parameters.h).
  // Pushes one at a time.
  ApiResponse HandleSpec(const ApiRequest& req) {
    SpecPushError e;
    auto push = DecodeSpecPush(req.body, &e);
    if (!push.ok()) return ErrorResponse(400, e.field + ": " + e.reason, e.field);
    if (auto refused = CheckTerm(push->term)) return *refused;
    std::lock_guard<std::mutex> l(specMu_);
    ClusterSpec running = ctx_.LiveSpec();
    if (liveParameters_) running.postgres.parameters = *liveParameters_;
    if (push->check) return CheckSpecParameters(*push, running);
    SpecUpdateDecision d = DecideSpecUpdate(running, specGeneration_, *push, ctx_.nodeName);
    if (d.status != 200) {
      spdlog::warn("agent: spec push in term {}: {}", push->term, d.reply.reason);
      return JsonResponse(d.status, ToJson(AgentRefusal{d.reply.reason, d.refusal, d.reply.field, {}, {}}));
    }
    if (d.applyParameters) {
      std::vector<ParameterProblem> problems;
      if (!CheckChangedParameters(running, push->spec, &problems).ok()) {
        // Not running: nothing to check against; what the reload refuses is put back below.
      } else if (!problems.empty()) {
        NodeSpecPushReply r = RefusedUpFront(problems, push->generation);
        std::map<std::string, std::string> values;
        for (const auto& p : problems) values[p.name] = p.value;
        RecordRefused(push->generation, values);
        spdlog::warn("agent: spec push in term {}: {}: {}", push->term, ToString(r.outcome), r.reason);
        return JsonResponse(200, EncodeSpecPushReply(r));
      }
    }
    if (d.persist && !ctx_.stateDir.empty()) {
      if (Status s = SaveStoredSpec(ctx_.stateDir, {push->generation, push->spec}); !s.ok()) {
        spdlog::error("agent: spec push generation {}: cannot store it: {}", push->generation, s.message());
        return ErrorResponse(500, "cannot store the spec: " + s.message());
      }
    }
    const uint64_t held = specGeneration_;
    if (d.persist) specGeneration_ = push->generation;
    if (d.applyNodes) {
      ctx_.membership->Replace(push->spec.nodes, push->generation);
    } else if (d.persist) {
      ctx_.membership->SetGeneration(push->generation);
    }
    std::map<std::string, std::string> refusedValues;
    if (d.applyParameters && !ApplyParameters(push->spec.postgres.parameters, running.postgres.parameters, held,
                                              &d.reply, &refusedValues)) {
      specGeneration_ = held;  // not taken: the same push is tried again when it comes again
      if (!ctx_.stateDir.empty()) {  // the stored copy back at the settings that took
        ClusterSpec back = push->spec;
        back.postgres.parameters = running.postgres.parameters;
        if (Status s = SaveStoredSpec(ctx_.stateDir, {held, back}); !s.ok())
          spdlog::error("agent: putting the stored spec copy back to generation {}: {}", held, s.message());
      }
      if (!refusedValues.empty()) RecordRefused(push->generation, refusedValues);
    } else if (d.applyParameters && !ctx_.stateDir.empty()) {
      if (Status s = ClearRefusedParameters(ctx_.stateDir); !s.ok()) spdlog::warn("agent: {}", s.message());
    }
    auto level = d.reply.outcome == SpecPushOutcome::kStale       ? spdlog::level::debug
                 : d.reply.restartRequired() || d.reply.failed() ? spdlog::level::warn
                                                           : spdlog::level::info;
    spdlog::log(level, "agent: spec push in term {}: {}: {}", push->term, ToString(d.reply.outcome),
                d.reply.reason);
    return JsonResponse(200, EncodeSpecPushReply(d.reply));
  }

  // The settings of `pushed` that differ from `running`, checked against the
  // server's pg_settings (parameter_check.h); an error when it cannot look.
  // Only those that change: a setting already in use is not judged again.
  Status CheckChangedParameters(const ClusterSpec& running, const ClusterSpec& pushed,
                                std::vector<ParameterProblem>* problems) {
    std::map<std::string, std::string> changed;
    for (const auto& [name, v] : pushed.postgres.parameters) {
      auto it = running.postgres.parameters.find(name);
      if (it == running.postgres.parameters.end() || it->second != v) changed[name] = v;
    }
    if (changed.empty()) return Status::Ok();
    auto table = params_->ReadSettings();
    if (!table.ok()) return table.status();
    *problems = CheckParameters(*table, changed);
    // Strings: the server's own check hook, in a session (SessionTrials).
    auto tried = params_->TryInSession(SessionTrials(*table, changed));
    if (!tried.ok()) return tried.status();
    problems->insert(problems->end(), tried->begin(), tried->end());
    std::sort(problems->begin(), problems->end(),
              [](const ParameterProblem& a, const ParameterProblem& b) { return a.name < b.name; });
    return Status::Ok();
  }

  // The reply to a push whose parameters PostgreSQL would not take: failed,
  // nothing stored or applied, the generation held kept. `check_only`: the
  // answer to "check": true, which says only what PostgreSQL would refuse
  // (the controller shows it to whoever applied the spec). Under specMu_.
  NodeSpecPushReply RefusedUpFront(const std::vector<ParameterProblem>& problems, uint64_t generation,
                                   bool check_only = false) const {
    NodeSpecPushReply r;
    r.generation = specGeneration_;
    r.outcome = SpecPushOutcome::kFailed;
    r.field = "spec.postgres.parameters." + problems.front().name;
    r.reason = check_only
                   ? "PostgreSQL would refuse " + DescribeProblems(problems) +
                         " (checked against this node's server; nothing stored or applied)"
                   : "generation " + std::to_string(generation) + ": postgres.parameters not taken, PostgreSQL would "
                     "refuse " + DescribeProblems(problems) + " (checked on this node's server; nothing stored or applied, generation " +
                     std::to_string(specGeneration_) + " still held)";
    return r;
  }

  // "check": true: the parameters checked, nothing stored or applied.
  ApiResponse CheckSpecParameters(const NodeSpecPush& push, const ClusterSpec& running) {
    std::vector<ParameterProblem> problems;
    if (Status s = CheckChangedParameters(running, push.spec, &problems); !s.ok())
      return ErrorResponse(503, "cannot check postgres.parameters: " + s.message());
    NodeSpecPushReply r;
    if (!problems.empty()) {
      r = RefusedUpFront(problems, push.generation, /*check_only=*/true);
    } else {
      r.generation = specGeneration_;
      r.outcome = SpecPushOutcome::kApplied;
      r.reason = "generation " + std::to_string(push.generation) + ": postgres.parameters would be taken (checked "
                 "against pg_settings; nothing stored or applied)";
    }
    spdlog::info("agent: spec check in term {}: {}: {}", push.term, ToString(r.outcome), r.reason);
    return JsonResponse(200, EncodeSpecPushReply(r));
  }

  // Refused values remembered so the next start sets them aside
  // (refused_parameters.h). Under specMu_.
  void RecordRefused(uint64_t generation, const std::map<std::string, std::string>& values) {
    if (ctx_.stateDir.empty()) return;
    if (Status s = SaveRefusedParameters(ctx_.stateDir, {generation, specGeneration_, values}); !s.ok())
      spdlog::error("agent: recording the refused postgres.parameters: {}", s.message());
  }

  // postgres.parameters of an accepted push: pgvigil.conf rewritten and
  // PostgreSQL reloaded now (blocks up to the reload's 10 s); what PostgreSQL
  // then reports waiting for a restart goes into the reply, and into
  // GET /v1/status as before (the controller's rolling restart takes it). When
  // the reload fails or PostgreSQL refuses a setting, the previous settings are
  // written and reloaded again (a bad value changes nothing here, nor breaks
  // the next start), the refused values go to `refused` and the push is
  // reported failed: false. Under specMu_.
  bool ApplyParameters(const std::map<std::string, std::string>& params,
                       const std::map<std::string, std::string>& previous, uint64_t held, NodeSpecPushReply* reply,
                       std::map<std::string, std::string>* refused) {
    params_->SetParameters(params);
    ParameterResult result;
    const Status s = params_->Apply(/*reload=*/true);  // also when an earlier push wrote the file but did not reload
    if (!s.ok()) result.reloadError = s.message();
    result.refused = params_->Refused();
    for (auto& [name, error] : result.refused)  // PostgreSQL's error names no value: say which
      if (auto v = params.find(name); v != params.end()) {
        (*refused)[name] = v->second;
        error = "value '" + v->second + "': " + error;
      }
    result.pendingRestart = params_->PendingRestart();
    FinishParameterReply(result, held, reply);
    if (!result.failed()) {
      liveParameters_ = params;
      params_->ClearSetAside();  // the spec's parameters took: what the start left out is history
      return true;
    }
    params_->SetParameters(previous);
    if (Status back = params_->Apply(/*reload=*/true); !back.ok())
      spdlog::warn("agent: putting the previous postgres.parameters back: {}", back.message());
    return false;
  }

  ApiResponse HandleOperation(const std::string& name, const ApiRequest& req) {
    OpRequest op_req;
    RequestError e;
    auto known = [this](const std::string& n) {
      return n != ctx_.nodeName && ctx_.membership->Find(n).has_value();
    };
    if (!ParseOpRequest(name, req.body, known, &op_req, &e)) return ErrorResponse(400, e.reason, e.field);
    if (auto refused = CheckTerm(op_req.term)) return *refused;
    if (ctx_.kubernetes) {
      std::optional<uint64_t> fenced;
      {
        std::lock_guard<std::mutex> l(fenceMu_);
        fenced = selfFencedTerm_;
      }
      std::string refusal = RefuseAfterSelfFence(op_req.kind, op_req.term, fenced.has_value(),
                                                 fenced.value_or(0));
      if (!refusal.empty()) {
        metrics_.opsRefused.Inc();
        spdlog::warn("agent: {}", refusal);
        return JsonResponse(409, ToJson(AgentRefusal{refusal, refusal::kSelfFenced, "term", {}, {}}));
      }
    }
    // Early refusal from the last health check; the operation re-checks for real.
    bool destructive = op_req.kind == OpKind::kStop || op_req.kind == OpKind::kFollow ||
                       op_req.kind == OpKind::kRebuild;
    if (destructive) {
      LocalPgStatus local = checker_->Local();
      std::string refusal = RefuseUnfencedPrimary(
          local.running, local.running ? local.role : BackendRole::kUnknown, op_req.fenced);
      if (!refusal.empty()) {
        metrics_.opsRefused.Inc();
        spdlog::warn("agent: refused {} in term {}: {}", name, op_req.term, refusal);
        return JsonResponse(409, ToJson(AgentRefusal{refusal, refusal::kPrimaryNotFenced, "fenced", {}, {}}));
      }
    }
    std::string running_id;
    auto op = ops_->TryBegin(name, op_req.term, &running_id);
    if (!op) {
      metrics_.opsRefused.Inc();
      return JsonResponse(
          409, ToJson(AgentRefusal{"operation " + running_id + " is still running", refusal::kBusy, {}, {}, running_id}));
    }
    metrics_.opsStarted.Inc();
    op->Log("accepted " + name + " in term " + std::to_string(op_req.term));
    // The worker owns everything it touches, so it may outlive this component.
    std::weak_ptr<HealthChecker> checker = checker_;
    std::shared_ptr<NodeOperations> runner = runner_;
    std::shared_ptr<ParameterApplier> params = params_;
    std::shared_ptr<MetricsRegistry> registry = ctx_.metrics;
    Counter* ok_counter = &metrics_.opsSucceeded;
    Counter* fail_counter = &metrics_.opsFailed;
    std::thread([op, op_req, runner, params, checker, registry, ok_counter, fail_counter] {
      Status result;
      try {
        result = runner->Run(op_req, *op);
      } catch (const std::exception& ex) {
        result = Status::Error(std::string("internal error: ") + ex.what());
      }
      op->Finish(result);
      (result.ok() ? ok_counter : fail_counter)->Inc();
      // A new or rebuilt data directory, or a (re)start: pgvigil.conf in place,
      // pending_restart as the server now sees it.
      (void)params->Apply();
      if (auto c = checker.lock()) c->Poke();
    }).detach();
    return JsonResponse(202, ToJson(NodeOperationStarted{op->id(), op->Snapshot().ToStatus()}));
  }

  // GET /v1/status (common/sidecar_status.h).
  value StatusJson() const {
    SidecarStatus st;
    st.node = ctx_.nodeName;
    st.term = terms_.highest();
    st.postgres = PostgresStatus(checker_->Local());
    // An empty or missing data directory (a new host): the controller rebuilds
    // it with pg_basebackup instead of trying to start it.
    const std::string data_dir = ctx_.spec.DataDir(ctx_.self());
    struct stat sb {};
    const bool initialized = ::stat((data_dir + "/PG_VERSION").c_str(), &sb) == 0;
    st.postgres.dataDirectoryInitialized = initialized;
    // What it is while stopped too: a self-fenced primary's data directory is
    // a primary's, which the controller of a new cluster starts again.
    if (initialized) st.postgres.dataDirectoryRole = HasRecoverySignal(data_dir) ? "standby" : "primary";
    st.postgres.parameters = params_->Snapshot();
    for (const auto& b : ctx_.health->Snapshot()) st.backends.push_back(BackendStatus(b));
    if (fence_) {
      st.selfFence = fence_->Snapshot();
      if (ctx_.kubernetes) {
        std::lock_guard<std::mutex> l(fenceMu_);
        st.selfFence.fencedInTermShown = true;
        st.selfFence.fencedInTerm = selfFencedTerm_;
      }
    } else {
      st.selfFence.enabled = false;
      st.selfFence.why = "the watchdog is disabled on this sidecar: an isolated primary is not fenced";
    }
    if (parts_) {
      for (const auto& p : *parts_) {
        if (!p || p.get() == this) continue;
        try {
          st.components[p->name()] = p->Summary();
        } catch (const std::exception& e) {
          st.components[p->name()] = value::string(std::string("summary failed: ") + e.what());
        }
      }
    }
    if (auto latest = ops_->Latest()) st.operation = latest->Snapshot().ToStatus();
    return ToJson(st);
  }

  SidecarContext& ctx_;
  std::vector<std::unique_ptr<Component>>* parts_;
  AgentMetrics metrics_;
  TermStore terms_;
  std::shared_ptr<HealthChecker> checker_;
  std::shared_ptr<OperationRegistry> ops_;
  std::shared_ptr<NodeOperations> runner_;
  std::shared_ptr<ParameterApplier> params_;
  // Set by the start thread (postgres.parameters applied; Kubernetes: PostgreSQL
  // started) when it is done; Stop waits for it within the 5 s it gives a
  // running operation.
  std::shared_ptr<std::atomic<bool>> bootDone_ = std::make_shared<std::atomic<bool>>(false);
  std::string token_;  // constant after Start()
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<SelfFence> fence_;  // null with the watchdog disabled
  mutable std::mutex fenceMu_;
  std::optional<uint64_t> selfFencedTerm_;  // guarded by fenceMu_; Kubernetes mode
  std::mutex specMu_;                       // one spec push at a time
  uint64_t specGeneration_ = 0;             // guarded by specMu_: the generation held
  // guarded by specMu_: postgres.parameters taken live from a push (the start
  // spec's until the first)
  std::optional<std::map<std::string, std::string>> liveParameters_;
  int membershipSub_ = 0;                   // the health checker's subscription
};

}  // namespace

std::unique_ptr<Component> MakeAgentComponent(SidecarContext& ctx,
                                              std::vector<std::unique_ptr<Component>>* parts) {
  return std::make_unique<AgentComponent>(ctx, parts);
}

}  // namespace pgvigil
