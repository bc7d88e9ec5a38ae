#include "controller/reconciler.h"

#include <chrono>
#include <ctime>

#include <spdlog/spdlog.h>

#include "common/files.h"
#include "common/spec_parser.h"
#include "controller/observe/sidecar_observer.h"
#include "controller/plan/lineage.h"
#include "controller/vm_leadership.h"

namespace pgvigil {

namespace {

plan::TimeMs NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string IsoNow() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  int ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

std::string Role(const plan::NodeObservation& o) {
  if (!o.pgReachable) return "unknown";
  return o.inRecovery ? "standby" : "primary";
}

}  // namespace

Reconciler::Reconciler(ClusterSpec spec, ReconcilerOptions options)
    : Reconciler(std::move(spec), std::move(options), nullptr, nullptr) {}

Reconciler::Reconciler(ClusterSpec spec, ReconcilerOptions options, std::unique_ptr<LeadershipSource> leadership,
                       std::unique_ptr<StateStore> store, ActingHook* hook)
    : options_(std::move(options)),
      spec_(std::move(spec)),
      leadership_(std::move(leadership)),
      store_(std::move(store)),
      hook_(hook) {
  actuator_ = std::make_unique<Actuator>(spec_, options_.token, options_.pg, options_.localNode);
  if (!leadership_ && options_.standalone) {
    // Standalone: a term that grows across restarts, so sidecars always accept
    // the newest controller (there is only one); the cluster state is a local file.
    leadership_ =
        std::make_unique<StandaloneLeadership>(static_cast<uint64_t>(std::time(nullptr)), options_.localNode);
    if (!store_) store_ = std::make_unique<FileStateStore>(options_.stateDir);
  } else if (!leadership_) {
    // The watchdog: leadership, the term and the register from GET /v1/watchdog
    // on the local sidecar; the register written through the same sidecar.
    auto watchdog = std::make_unique<WatchdogLeadership>(
        [this]() -> RestClient& { return LocalSidecar(&watchdogClient_, std::chrono::milliseconds(1500)); });
    if (!store_)
      store_ = std::make_unique<WatchdogRegisterStore>(
          watchdog.get(), [this]() -> RestClient& { return actuator_->Sidecar(options_.localNode); });
    leadership_ = std::move(watchdog);
  }
  if (!store_) store_ = std::make_unique<FileStateStore>(options_.stateDir);
  actuator_->SetStateWriter(
      [this](const plan::ClusterState& s, uint64_t term) { return store_->Save(s, term); });
}

Reconciler::~Reconciler() { Stop(); }

Status Reconciler::Start() {
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void Reconciler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Looks still running (a host that does not answer) get a moment to end, so
  // that none outlives the process's own teardown.
  for (auto& [name, o] : observers_) o->Stop(std::chrono::milliseconds(3000));
}

void Reconciler::Poke() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    poked_ = true;
  }
  cv_.notify_all();
}

void Reconciler::Loop() {
  using namespace std::chrono;
  while (true) {
    milliseconds wait = options_.period;
    try {
      wait = Tick();
    } catch (const std::exception& e) {
      spdlog::error("reconcile: unexpected exception: {}", e.what());
    }
    // Between full ticks, a cheap look at the local sidecar every fastPoll: a
    // backend newly seen down (or a change of watchdog leadership) starts the
    // next tick at once instead of up to a period later.
    const auto next = steady_clock::now() + wait;
    while (true) {
      const auto now = steady_clock::now();
      const auto slice = std::min<steady_clock::duration>(next - now, options_.fastPoll);
      std::unique_lock<std::mutex> lock(mu_);
      if (slice > steady_clock::duration::zero())
        cv_.wait_for(lock, slice, [&] { return stopping_ || poked_; });
      if (stopping_) return;
      if (poked_ || steady_clock::now() >= next) {
        poked_ = false;
        break;
      }
      lock.unlock();
      if (SomethingChanged()) break;
    }
  }
}

ClusterSpec Reconciler::spec() const {
  std::lock_guard<std::mutex> lock(mu_);
  return spec_;
}

ClusterStatus Reconciler::GetStatus() const {
  std::lock_guard<std::mutex> lock(mu_);
  ClusterStatus s = status_;
  s.events.assign(events_.begin(), events_.end());
  return s;
}

Status Reconciler::ApplySpec(const ClusterSpec& spec, const std::string& yaml_text) {
  if (!options_.specPath.empty()) {
    if (Status s = WriteFileAtomic(options_.specPath, yaml_text, 0644); !s.ok())
      return s.Context("storing the new spec");
  }
  UseSpec(spec, "applied");
  return Status::Ok();
}

std::optional<ParametersCheck> Reconciler::CheckParameters(const ClusterSpec& candidate) {
  ClusterSpec current;
  std::string primary;
  uint64_t term = 0;
  std::set<std::string> reachable;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (candidate.postgres.parameters == spec_.postgres.parameters) return std::nullopt;
    current = spec_;
    primary = status_.primary;
    term = status_.term;
    reachable = sidecarsReachable_;
  }
  // The sidecars as they run now: at the addresses of the spec in use.
  std::map<std::string, std::unique_ptr<RestClient>> clients;
  auto sidecar = [&](const std::string& node) -> RestClient& {
    auto& c = clients[node];
    const NodeSpec* n = current.FindNode(node);
    if (!c) c = std::make_unique<RestClient>(n ? current.ApiUrl(*n) : "http://invalid", options_.token,
                                             std::chrono::milliseconds(3000));
    return *c;
  };
  // The generation is only a label here: a check stores nothing.
  ParametersCheck check = AskSidecarsToCheck(
      NodeSpecPush{term, 1, candidate},
      ParameterCheckOrder(current, primary, [&](const std::string& n) { return reachable.count(n) > 0; }), sidecar);
  for (const auto& [node, why] : check.notChecked)
    spdlog::info("PUT /v1/spec: {} did not check postgres.parameters: {}", node, why);
  switch (check.outcome) {
    case ParametersCheck::Outcome::kTaken:
      spdlog::info("PUT /v1/spec: postgres.parameters checked by {}: {}", check.node, check.reason);
      break;
    case ParametersCheck::Outcome::kRefused:
      spdlog::warn("PUT /v1/spec: the spec is refused, nothing of it stored or used: {}", check.RefusalLine());
      AddEvent("check-parameters", check.node, "a new spec refused, nothing changed: " + check.RefusalLine());
      break;
    case ParametersCheck::Outcome::kUnchecked:
      spdlog::warn("PUT /v1/spec: no sidecar could check the new postgres.parameters ({}): the spec is taken "
                   "unchecked; a sidecar sets aside at its next start any value its PostgreSQL would not "
                   "start with", check.NotCheckedText());
      AddEvent("check-parameters", "", "a new spec taken with its postgres.parameters unchecked (" +
                                           check.NotCheckedText() + ")");
      break;
  }
  return check;
}

void Reconciler::UseSpec(const ClusterSpec& spec, const std::string& how) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    spec_ = spec;
  }
  AddEvent("spec", "", "a new spec was " + how + " (" + std::to_string(spec.nodes.size()) + " nodes)");
  Poke();
}

Status Reconciler::RequestSwitchover(const std::string& to) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!spec_.FindNode(to)) return Status::Error("node '" + to + "' is not in the spec");
    requests_.switchoverTo = to;
  }
  AddEvent("request", to, "switchover to " + to + " requested");
  Poke();
  return Status::Ok();
}

Status Reconciler::RequestNode(const std::string& verb, const std::string& node) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!spec_.FindNode(node)) return Status::Error("node '" + node + "' is not in the spec");
    if (verb == "recover") requests_.recover.push_back(node);
    else if (verb == "attach") requests_.attach.push_back(node);
    else if (verb == "detach") requests_.detach.push_back(node);
    else return Status::Error("unknown request '" + verb + "'");
  }
  AddEvent("request", node, verb + " " + node + " requested");
  Poke();
  return Status::Ok();
}

void Reconciler::AddEvent(const std::string& action, const std::string& node,
                          const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  events_.push_back({IsoNow(), action, node, reason});
  while (events_.size() > options_.maxEvents) events_.pop_front();
}

void Reconciler::LogStanding(StandingDecision* d, const std::string& reason, const std::string& what,
                             const std::string& ended) {
  const auto now = std::chrono::steady_clock::now();
  switch (d->Update(reason, now)) {
    case StandingDecision::Say::kNothing:
      return;
    case StandingDecision::Say::kStarted:
    case StandingDecision::Say::kChanged:
      spdlog::warn("{}: {}", what, reason);
      AddEvent("hold", "", what + ": " + reason);
      return;
    case StandingDecision::Say::kReminder:
      spdlog::warn("{} (for {} s): {}", what, d->For(now).count() / 1000, reason);
      return;
    case StandingDecision::Say::kEnded:
      spdlog::info("{} after {} s ({})", ended, d->For(now).count() / 1000, d->reason());
      AddEvent("hold", "", ended + " (" + d->reason() + ")");
      return;
  }
}

void Reconciler::ObserveNodes(const ClusterSpec& spec, plan::TimeMs now) {
  using namespace std::chrono;
  auto shared_spec = std::make_shared<const ClusterSpec>(spec);
  const uint64_t round = ++observeRound_;
  // One observer per node (a new one when the spec moves the node); nodes no
  // longer in the spec are dropped.
  std::map<std::string, std::unique_ptr<NodeObserver>> keep;
  for (const auto& n : spec.nodes) {
    const std::string key = n.host + ":" + std::to_string(spec.PgPort(n)) + " " + spec.ApiUrl(n);
    auto it = observers_.find(n.name);
    if (it != observers_.end() && it->second->key() == key) {
      keep[n.name] = std::move(it->second);
    } else {
      keep[n.name] = std::make_unique<NodeObserver>(n.name, key, options_.token, options_.pg);
    }
  }
  observers_ = std::move(keep);
  // Ask every node at once; wait (one deadline for all) only for those that
  // answered their last look in time: a host that does not answer (cut off) is
  // not waited for again until it answers quickly.
  const auto deadline = steady_clock::now() + options_.observeDeadline;
  std::vector<bool> waited(spec.nodes.size(), false);
  for (size_t i = 0; i < spec.nodes.size(); ++i) {
    NodeObserver& o = *observers_[spec.nodes[i].name];
    waited[i] = !o.Busy() && !slowNodes_.count(spec.nodes[i].name);
    o.Request(round, shared_spec, now);
  }
  for (size_t i = 0; i < spec.nodes.size(); ++i)
    if (waited[i]) observers_[spec.nodes[i].name]->WaitFor(round, deadline);
  // Also take what the others finished meanwhile.
  std::vector<plan::NodeObservation> next;
  poolNodes_.assign(spec.nodes.size(), web::json::value::null());
  for (size_t i = 0; i < spec.nodes.size(); ++i) {
    const std::string& name = spec.nodes[i].name;
    NodeLook look = observers_[name]->Latest();
    const plan::NodeObservation* old = obs_.Find(name);
    // This round's look, or a quick one of the round before that finished after
    // that round stopped waiting (a node that answers again).
    const bool quick = look.took <= options_.observeDeadline;
    if (look.round == round || (look.round + 1 == round && quick)) {
      if (quick) slowNodes_.erase(name);
      else slowNodes_.insert(name);
      if (!look.pgError.empty()) spdlog::debug("observe {}: postgres: {}", name, look.pgError);
      if (!look.sidecarError.empty()) spdlog::debug("observe {}: sidecar: {}", name, look.sidecarError);
      poolNodes_[i] = look.poolNodes;
      next.push_back(look.obs);
      continue;
    }
    // No answer in time: nothing about it is known now; the last values seen stay
    // (the planner reasons about a crashed primary's last LSN).
    slowNodes_.insert(name);
    plan::NodeObservation o = old ? *old : look.obs;
    o.name = name;
    o.pgReachable = false;
    o.sidecarReachable = false;
    spdlog::debug("observe {}: no answer within {} ms (look of round {} still running)", name,
                  options_.observeDeadline.count(), look.round + 1);
    next.push_back(o);
  }
  obs_.nodes = std::move(next);
}

RestClient& Reconciler::LocalSidecar(std::unique_ptr<RestClient>* slot,
                                     std::chrono::milliseconds timeout) {
  const ClusterSpec sp = spec();
  const NodeSpec* self = sp.FindNode(options_.localNode);
  const std::string url = self ? sp.ApiUrl(*self) : "http://invalid";
  if (!*slot || (*slot)->baseUrl() != url)  // a new spec may move it
    *slot = std::make_unique<RestClient>(url, options_.token, timeout);
  return **slot;
}

bool Reconciler::SomethingChanged() {
  if (options_.localNode.empty()) return false;  // no sidecar beside this controller
  RestClient& fast = LocalSidecar(&fastClient_, std::chrono::milliseconds(500));
  std::string sig;
  if (options_.standalone) {
    auto reply = fast.Get("/v1/status");
    if (!reply.ok() || reply->status != 200) return false;
    plan::NodeObservation o;
    ApplySidecarStatus(reply->body, 0, &o);
    for (const auto& [node, up] : o.healthView)
      if (!up) sig += node + " down;";
  } else {
    auto reply = fast.Get("/v1/watchdog");
    if (!reply.ok()) return false;
    if (reply->status == 200 && reply->body.is_object()) {
      plan::WatchdogView w = ParseWatchdogView(reply->body, 0);
      sig = w.leader + "/" + std::to_string(w.term) + (w.quorum ? "/q;" : "/-;");
      for (const auto& [node, h] : w.backends)
        if (h.seeDown > 0) sig += node + " down " + std::to_string(h.seeDown) + ";";
    }
  }
  bool changed = sig != fastSignature_;
  fastSignature_ = sig;
  if (changed) spdlog::debug("reconcile: local view changed ({}): reconciling now", sig);
  return changed;
}

std::chrono::milliseconds Reconciler::Tick() {
  ClusterSpec spec = this->spec();
  actuator_->SetSpec(spec);
  plan::TimeMs now = NowMs();

  LeadershipLook look = leadership_->Look(now);
  bool may_act = look.mayAct;
  const uint64_t term = look.term;
  const std::string leader = look.holder;
  if (look.watchdog) obs_.watchdog = *look.watchdog;
  watchdogDetail_ = look.watchdogDetail;
  if (may_act != acting_.load()) {
    AddEvent("leadership", options_.localNode,
             may_act ? "this controller acts now (" + look.reason + ", term " + std::to_string(term) + ")"
                     : "this controller stops acting (" + look.reason + ")");
    spdlog::info("controller {} acting ({})", may_act ? "starts" : "stops", look.reason);
    acting_ = may_act;
  }
  ObserveNodes(spec, now);
  {
    std::lock_guard<std::mutex> lock(mu_);
    sidecarsReachable_.clear();
    for (const auto& o : obs_.nodes)
      if (o.sidecarReachable) sidecarsReachable_.insert(o.name);
  }
  if (!look.watchdog) {
    // No watchdog view from a local sidecar: the health view from our own looks.
    obs_.watchdog = StandaloneHealthView(obs_, now);
    obs_.watchdog.leader = leader;
    obs_.watchdog.term = term;
  }

  Result<plan::ClusterState> state = store_->Load();
  LogStanding(&unreadable_, state.ok() ? "" : state.error(), "cluster state unreadable, not acting",
              "cluster state readable again");
  if (!state.ok()) {
    may_act = false;
    state = plan::ClusterState{};
  }
  plan::PlanInputs inputs;
  inputs.now = now;
  {
    std::lock_guard<std::mutex> lock(mu_);
    inputs.requests = requests_;
  }
  if (may_act && hook_) {
    Status h = hook_->BeforeActions(*state, term, obs_, *actuator_);
    // Logged (and an event) when it starts or its reason changes, not each round.
    LogStanding(&held_, h.ok() ? "" : h.message(), "not acting this round", "the rounds act again");
    if (!h.ok()) may_act = false;
    // Starts the mode holds are not planned (rather than planned and withheld
    // by the actuator's start guard every round).
    inputs.startHolds = hook_->StartHolds();
  }
  plan::Plan p = plan::MakePlan(spec, obs_, *state, inputs);

  std::string phase = plan::ToString(p.phase);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (phase != lastPhase_ || p.summary != lastSummary_) {
      spdlog::info("phase {}: {}", phase, p.summary);
      lastPhase_ = phase;
      lastSummary_ = p.summary;
    }
  }
  plan::ClusterState newest = *state;
  bool acted = false;
  bool all_ran = true;  // every action of the plan ran and succeeded
  if (may_act && !p.actions.empty()) {
    acted = true;
    auto keep_going = [&] { return leadership_->StillActing(term); };
    const auto results = actuator_->Run(p.actions, term, obs_, keep_going);
    if (results.size() != p.actions.size()) all_ran = false;  // stopped part-way
    for (const auto& r : results) {
      if (r.action.kind == plan::ActionKind::kWriteState && r.ok) newest = r.action.state;
      if (!r.ok) acted = false;  // a failing action is retried at the busy pace, not hot
      if (!r.ok) all_ran = false;
      AddEvent(plan::ToString(r.action.kind), r.action.node,
               r.action.reason + (r.ok ? "" : " -- FAILED: " + r.detail));
      if (hook_) hook_->Decided(plan::ToString(r.action.kind), r.action.node, r.action.reason, r.ok, r.detail);
    }
    if (hook_ && !(newest == *state) && leadership_->StillActing(term))
      hook_->AfterActions(newest, term, obs_, *actuator_);
  }
  if (may_act && all_ran) {
    // What this plan answered is done (or refused, with its event); anything
    // it did not look at, or filed meanwhile, stays for the next round. After
    // a failure the next plan answers again from the durable state (a detach
    // whose write failed is planned again; one that landed is in effect).
    std::lock_guard<std::mutex> lock(mu_);
    plan::RemoveAnswered(p.answered, &requests_);
  }

  // Status for GET /v1/status.
  ClusterStatus s;
  s.cluster = spec.name;
  s.phase = phase;
  s.primary = newest.primary;
  s.timeline = newest.timeline;
  s.routingGeneration = newest.routingGeneration;
  s.term = term;
  s.controller = leader;
  s.acting = may_act;
  s.summary = p.summary;
  s.synchronousStandbys = newest.synchronousStandbys;
  s.synchronousCount = newest.synchronousCount;
  s.watchdogLeader = obs_.watchdog.leader;
  s.watchdogQuorum = obs_.watchdog.quorum;
  for (const auto& n : spec.nodes) {
    const plan::NodeObservation* o = obs_.Find(n.name);
    NodeStatus ns;
    ns.name = n.name;
    ns.host = n.host;
    ns.port = spec.PgPort(n);
    ns.weight = n.weight;
    ns.pgStatus = o && o->pgReachable ? "up" : "down";
    ns.pgRole = o ? Role(*o) : "unknown";
    ns.role = newest.primary == n.name ? "primary" : (o && o->pgReachable && o->inRecovery ? "standby" : "unknown");
    if (newest.IsFenced(n.name)) ns.state = "fenced";
    else if (newest.IsDetached(n.name)) ns.state = "detached";
    else if (o && o->OperationRunning()) ns.state = "recovering";
    else ns.state = ns.pgStatus;
    if (o) {
      ns.timeline = o->timeline;
      if (o->pgReachable) ns.lsn = plan::FormatLsn(o->inRecovery ? o->replayedLsn : o->currentLsn);
      ns.upstream = o->upstream;
      ns.pendingRestart = o->pendingRestart;
      ns.parameterProblems = o->parameterProblems;
      const plan::NodeObservation* prim = obs_.Find(newest.primary);
      if (o->inRecovery && prim && prim->pgReachable && prim->currentLsn >= o->replayedLsn)
        ns.lagBytes = static_cast<int64_t>(prim->currentLsn - o->replayedLsn);
      if (prim)
        for (const auto& row : prim->replication)
          if (row.node == n.name) {
            ns.replicationState = row.state;
            ns.replicationSyncState = row.syncState;
          }
      if (o->operation) {
        OperationStatus op;
        op.node = n.name;
        op.id = o->operation->id;
        op.type = plan::ToString(o->operation->kind);
        op.state = plan::ToString(o->operation->state);
        op.step = o->operation->step;
        op.percent = o->operation->progressPercent;
        op.error = o->operation->error;
        s.operations.push_back(op);
      }
    }
    s.nodes.push_back(ns);
  }
  {
    AddSpecFacts(spec, &s);                  // watchdog enabled?, configured VIP
    if (watchdogDetail_) AddWatchdogDetail(*watchdogDetail_, &s);  // VIP holder and members (not standalone)
    AddProxySelectCounts(poolNodes_, &s);    // select_cnt summed over the proxies
    std::lock_guard<std::mutex> lock(mu_);
    status_ = std::move(s);
  }
  // Right after acting, look again at once (the next step of a failover waits
  // on what these actions did); while anything is in flux, look often.
  if (acted) return std::chrono::milliseconds(20);
  // A controller that only serves status keeps the normal pace.
  if (may_act && (p.phase != plan::Phase::kHealthy || p.outcome != plan::Outcome::kDone))
    return std::min(options_.busyPeriod, options_.period);
  return options_.period;
}

}  // namespace pgvigil
