// KubeActuator::SendSpec: PUT /v1/node/spec of the generation last applied to
// each reachable member, and what becomes of a push whose parameters did not
// take (`failed`): logged and an Event naming the pod and the setting, listed
// for the status (ParameterFailures), sent again later with backoff
// (spec_retry.h) until the sidecar takes it or a newer generation replaces it.
// JudgeCandidate: a generation's changed parameters checked by a sidecar before
// the generation is accepted (parameter_gate.h); CheckParameters: the accepted
// resource's checked again before they reach NAME-config, unless its
// generation's check did it already.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/agent_refusal.h"
#include "common/node_spec_push.h"
#include "controller/act/actuator.h"
#include "controller/act/parameters_check.h"
#include "controller/kube/kube_actuator.h"
#include "controller/kube/spec_retry.h"

namespace pgvigil::kube {

using web::json::value;

std::vector<std::string> KubeActuator::ParameterFailures() {
  std::lock_guard<std::mutex> lock(mu_);
  return parameterFailures_;
}

void KubeActuator::PublishParameterFailures() {
  std::vector<std::string> lines;
  for (const auto& [node, retry] : specRetry_) lines.push_back(node + ": " + retry.field + ": " + retry.reason);
  std::lock_guard<std::mutex> lock(mu_);
  parameterFailures_ = std::move(lines);
}

std::string KubeActuator::ParametersRefused() {
  std::lock_guard<std::mutex> lock(mu_);
  return parametersRefused_;
}

ParameterVerdict KubeActuator::AskCheck(const ClusterSpec& spec, uint64_t term, const plan::ClusterState& state,
                                        const plan::Observation& obs, Actuator& actuator) {
  auto reachable = [&](const std::string& node) {
    const plan::NodeObservation* o = obs.Find(node);
    return o && o->sidecarReachable;
  };
  const ParametersCheck check = AskSidecarsToCheck(
      NodeSpecPush{term, std::max<uint64_t>(specGeneration_, 1), spec},
      ParameterCheckOrder(spec, state.primary, reachable),
      [&](const std::string& node) -> RestClient& { return actuator.Sidecar(node); });
  for (const auto& [node, why] : check.notChecked)
    spdlog::info("{}/{}: {} did not check postgres.parameters: {}", ns_, name_, node, why);
  ParameterVerdict v;
  v.node = check.node;
  switch (check.outcome) {
    case ParametersCheck::Outcome::kTaken:
      v.outcome = ParameterVerdict::Outcome::kPassed;
      v.detail = check.reason;
      spdlog::info("{}/{}: postgres.parameters checked by {}: {}", ns_, name_, check.node, check.reason);
      break;
    case ParametersCheck::Outcome::kRefused:
      v.outcome = ParameterVerdict::Outcome::kRefused;
      v.detail = check.field + ": " + check.reason;
      break;
    case ParametersCheck::Outcome::kUnchecked:
      v.outcome = ParameterVerdict::Outcome::kUnchecked;
      v.detail = "no sidecar could check them (" + check.NotCheckedText() + ")";
      break;
  }
  return v;
}

void KubeActuator::CheckCandidate(int64_t generation, std::map<std::string, std::string> parameters) {
  std::lock_guard<std::mutex> lock(mu_);
  if (candidate_ && candidate_->generation == generation && candidate_->parameters == parameters) return;
  candidate_ = Candidate{generation, std::move(parameters)};
  spdlog::info("{}/{}: generation {} changes postgres.parameters: a sidecar checks them in the next acting round",
               ns_, name_, generation);
}

void KubeActuator::DropCandidatesUpTo(int64_t generation) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!candidate_ || candidate_->generation > generation) return;
  if (!verdict_ || verdict_->generation != candidate_->generation)
    spdlog::info("{}/{}: generation {} is not checked: generation {} was taken into use first", ns_, name_,
                 candidate_->generation, generation);
  candidate_.reset();
}

std::optional<ParameterVerdict> KubeActuator::CandidateVerdict(int64_t generation) {
  std::lock_guard<std::mutex> lock(mu_);
  if (verdict_ && verdict_->generation == generation) return verdict_;
  return std::nullopt;
}

void KubeActuator::JudgeCandidate(uint64_t term, const plan::ClusterState& state, const plan::Observation& obs,
                                  Actuator& actuator) {
  Candidate c;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!candidate_ || (verdict_ && verdict_->generation == candidate_->generation)) return;
    c = *candidate_;
  }
  auto res = Resource(nullptr);
  if (!res) return;
  ParameterVerdict v;
  if (c.parameters == res->spec.postgres.parameters) {
    v.detail = "the same as the spec in force";
  } else {
    ClusterSpec spec = res->spec;  // the spec in force, with the candidate's parameters
    spec.postgres.parameters = c.parameters;
    v = AskCheck(spec, term, state, obs, actuator);
  }
  v.generation = c.generation;
  {
    // Kept only while it is still the candidate (the sync thread may have
    // taken a newer generation into use meanwhile).
    std::lock_guard<std::mutex> lock(mu_);
    if (!candidate_ || candidate_->generation != c.generation) {
      spdlog::info("{}/{}: generation {}: postgres.parameters {}, but it is no longer waiting to be taken into use",
                   ns_, name_, c.generation, ToString(v.outcome));
      return;
    }
    verdict_ = v;
  }
  const std::string in_force = "the spec in force (spec generation " + std::to_string(specGeneration_) + ") stays";
  switch (v.outcome) {
    case ParameterVerdict::Outcome::kRefused:
      spdlog::warn("{}/{}: generation {}: postgres.parameters refused ({} (checked by {})): nothing of this "
                   "generation is applied, {}", ns_, name_, c.generation, v.detail, v.node, in_force);
      Emit("Warning", "ParametersInvalid", "CheckParameters",
           "generation " + std::to_string(c.generation) + ": " + v.detail + "; nothing of this generation applied, " +
               in_force);
      if (record_) record_("check-parameters", v.node, v.detail);
      break;
    case ParameterVerdict::Outcome::kUnchecked:
      spdlog::warn("{}/{}: generation {}: {}: taken unchecked (the sidecars refuse what their PostgreSQL would not "
                   "take and keep the last settings that took)", ns_, name_, c.generation, v.detail);
      judgedParameters_ = c.parameters;
      break;
    case ParameterVerdict::Outcome::kPassed:
      spdlog::info("{}/{}: generation {}: postgres.parameters pass{}: {}", ns_, name_, c.generation,
                   v.node.empty() ? "" : " (checked by " + v.node + ")", v.detail);
      judgedParameters_ = c.parameters;
      break;
  }
  if (verdictListener_) verdictListener_();
}

void KubeActuator::CheckParameters(uint64_t term, const plan::ClusterState& state, const plan::Observation& obs,
                                   Actuator& actuator) {
  std::string key;
  auto res = Resource(&key);
  if (!res || key == checkedKey_) return;
  auto accept = [&] {
    checkedKey_ = key;
    refusedKey_.clear();
    std::lock_guard<std::mutex> lock(mu_);
    parametersRefused_.clear();
  };
  if (!appliedSpec_ || res->spec.postgres.parameters == appliedSpec_->postgres.parameters) return accept();
  // Checked as a candidate generation already (JudgeCandidate) before it was accepted.
  if (judgedParameters_ && res->spec.postgres.parameters == *judgedParameters_) return accept();
  ParameterVerdict v = AskCheck(res->spec, term, state, obs, actuator);
  if (v.outcome == ParameterVerdict::Outcome::kPassed) return accept();
  if (v.outcome == ParameterVerdict::Outcome::kUnchecked) {
    spdlog::warn("{}/{}: no sidecar could check the new postgres.parameters: applied unchecked (the sidecars refuse "
                 "what their PostgreSQL would not take and keep the last settings that took)", ns_, name_);
    return accept();
  }
  checkedKey_ = refusedKey_ = key;
  {
    std::lock_guard<std::mutex> lock(mu_);
    parametersRefused_ = v.detail + " (checked by " + v.node + ")";
  }
  spdlog::warn("{}/{}: the resource's postgres.parameters refused ({}), nothing of it applied; NAME-config and "
               "the pods keep spec generation {}", ns_, name_, parametersRefused_, specGeneration_);
  Emit("Warning", "ParametersInvalid", "CheckParameters",
       v.detail + "; nothing of this spec applied, the pods keep spec generation " + std::to_string(specGeneration_));
  if (record_) record_("check-parameters", v.node, v.detail);
}

void KubeActuator::SendSpec(uint64_t term, const plan::Observation& obs, Actuator& actuator) {
  // The spec NAME-config holds under specGeneration_ (not a resource refused since).
  auto res = appliedResource_;
  if (!res || specGeneration_ == 0) return;
  const auto now = now_ ? now_() : std::chrono::steady_clock::now();
  // A failure of an older generation is replaced by this one's push; members
  // no longer in the spec have nothing to fail.
  for (auto it = specRetry_.begin(); it != specRetry_.end();)
    it = it->second.generation != specGeneration_ || !res->spec.FindNode(it->first) ? specRetry_.erase(it) : ++it;
  NodeSpecPush push{term, specGeneration_, res->spec};
  const value body = EncodeSpecPush(push);
  for (const auto& n : res->spec.nodes) {
    const plan::NodeObservation* o = obs.Find(n.name);
    if (!o || !o->sidecarReachable) {
      specSent_.erase(n.name);  // when it answers again it may have restarted: push again
      continue;
    }
    auto it = specSent_.find(n.name);
    if (it != specSent_.end() && it->second >= specGeneration_) continue;
    auto retry = specRetry_.find(n.name);
    if (retry != specRetry_.end() && now < retry->second.next) continue;  // backing off after a failure
    auto r = actuator.Sidecar(n.name).Put("/v1/node/spec", body);
    if (!r.ok()) {
      spdlog::warn("{}/{}: spec generation {} to {}: {} (again next round)", ns_, name_, specGeneration_, n.name,
                   r.error());
      continue;
    }
    if (r->status == 200) {
      auto reply = DecodeSpecPushReply(r->body);
      if (!reply.ok()) {
        spdlog::warn("{}/{}: spec generation {} to {}: {}", ns_, name_, specGeneration_, n.name, reply.error());
        continue;
      }
      if (reply->failed()) {
        SpecFailed(n.name, *reply, now);
        continue;
      }
      specSent_[n.name] = specGeneration_;
      if (retry != specRetry_.end()) {
        spdlog::info("{}/{}: pod {} took spec generation {} after {} failed attempt(s): {}", ns_, name_, n.name,
                     specGeneration_, retry->second.failures, ToString(reply->outcome));
        Emit("Normal", "ParametersApplied", "PushSpec",
             "pod " + n.name + " took postgres.parameters of spec generation " + std::to_string(specGeneration_) +
                 " after " + std::to_string(retry->second.failures) + " failed attempt(s)");
        specRetry_.erase(retry);
      }
      spdlog::log(reply->restartRequired() ? spdlog::level::warn : spdlog::level::info,
                  "{}/{}: spec generation {} ({} members) pushed to {} because {}: {}{}: {}{}", ns_, name_,
                  specGeneration_, res->spec.nodes.size(), n.name, specWhy_, ToString(reply->outcome),
                  reply->field.empty() ? "" : " (" + reply->field + ")", reply->reason,
                  reply->pendingRestart.empty() ? ""
                                                : " (the rolling restart replaces this pod: kube_rollout.h)");
      continue;
    }
    const std::string reason = AgentRefusalFromJson(r->body, nullptr).reason;
    spdlog::warn("{}/{}: sidecar {} refused spec generation {} in term {}: HTTP {} {}", ns_, name_, n.name,
                 specGeneration_, term, r->status, r->text);
    // A refusal that repeating cannot change: not again for this generation.
    if (r->status == 400 || reason == refusal::kNotAMember) specSent_[n.name] = specGeneration_;
  }
  PublishParameterFailures();
}

void KubeActuator::SpecFailed(const std::string& node, const NodeSpecPushReply& reply,
                              std::chrono::steady_clock::time_point now) {
  SpecRetry& retry = specRetry_[node];
  retry.generation = specGeneration_;
  ++retry.failures;
  retry.next = now + SpecRetryDelay(retry.failures);
  retry.field = reply.field;
  retry.reason = reply.reason;
  const std::string again = std::to_string(SpecRetryDelay(retry.failures).count()) + " s";
  spdlog::warn("{}/{}: pod {} did not take spec generation {} ({}): {}: {}; pushing it again in {} (attempt {} "
               "failed)", ns_, name_, node, specGeneration_, specWhy_, reply.field, reply.reason, again,
               retry.failures);
  Emit("Warning", "ParametersFailed", "PushSpec",
       "pod " + node + ": " + reply.field + " not taken: " + reply.reason + "; again in " + again);
  if (record_) record_("push-spec", node, reply.field + " not taken: " + reply.reason);
}

}  // namespace pgvigil::kube
