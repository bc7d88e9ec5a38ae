// Status phase and conditions from the cluster state (KUBERNETES.md §3). Each
// condition says True/False/Unknown with a CamelCase reason; a wait past its
// time limit shows as Progressing=False, reason <Wait>TimedOut.
#include <algorithm>

#include "common/strings.h"
#include "controller/kube/kube_plan.h"

namespace pgvigil::kube {

using web::json::value;

value Condition::ToJson() const {
  value c = value::object();
  c["type"] = value::string(type);
  c["status"] = value::string(status);
  c["reason"] = value::string(reason);
  c["message"] = value::string(message);
  c["lastTransitionTime"] = value::string(lastTransitionTime);
  c["observedGeneration"] = value::number(observedGeneration);
  return c;
}

const Condition* StatusSummary::Find(const std::string& type) const {
  for (const auto& c : conditions)
    if (c.type == type) return &c;
  return nullptr;
}

value StatusSummary::ConditionsJson() const {
  std::vector<value> out;
  for (const auto& c : conditions) out.push_back(c.ToJson());
  return value::array(std::move(out));
}

namespace {

std::vector<std::string> Union(std::vector<std::string> a, const std::vector<std::string>& b) {
  for (const auto& n : b)
    if (std::find(a.begin(), a.end(), n) == a.end()) a.push_back(n);
  std::sort(a.begin(), a.end());
  return a;
}

bool SyncSatisfied(const StatusInputs& in) {
  return in.replication.mode != ReplicationMode::kSync ||
         static_cast<int>(in.state.synchronousStandbys.size()) >= in.replication.synchronousCount;
}

struct Builder {
  const StatusInputs& in;
  StatusSummary out;

  void Add(const char* type, bool truth, const std::string& reason, const std::string& message,
           bool unknown = false) {
    Condition c;
    c.type = type;
    c.status = unknown ? "Unknown" : truth ? "True" : "False";
    c.reason = reason;
    c.message = message;
    if (c.message.size() > kMaxConditionMessage) {
      // A long list of spec errors: the first ones, and how much is left out.
      const std::string more = "... (" + std::to_string(message.size()) + " bytes in all)";
      size_t cut = kMaxConditionMessage - more.size();
      while (cut > 0 && (static_cast<unsigned char>(c.message[cut]) & 0xC0) == 0x80)
        --cut;  // UTF-8
      c.message = c.message.substr(0, cut) + more;
    }
    c.observedGeneration = in.generation;
    c.lastTransitionTime = in.now;
    if (in.previous.is_array()) {
      for (const auto& p : in.previous.as_array()) {
        if (!p.is_object() || !p.has_string_field("type") || p.at("type").as_string() != c.type)
          continue;
        if (p.has_string_field("status") && p.at("status").as_string() == c.status &&
            p.has_string_field("lastTransitionTime"))
          c.lastTransitionTime = p.at("lastTransitionTime").as_string();
      }
    }
    out.conditions.push_back(std::move(c));
  }
};

}  // namespace

value InstancesStatusJson(const std::vector<std::string>& instances, const std::vector<std::string>& healthy,
                          const std::vector<std::string>& rebuilding) {
  auto has = [](const std::vector<std::string>& v, const std::string& n) {
    return std::find(v.begin(), v.end(), n) != v.end();
  };
  std::vector<value> h, d, r;
  for (const auto& n : instances) {
    if (has(rebuilding, n)) r.push_back(value::string(n));
    else if (has(healthy, n)) h.push_back(value::string(n));
    else d.push_back(value::string(n));
  }
  value out = value::object(true);
  out["healthy"] = value::array(h);
  out["down"] = value::array(d);
  out["rebuilding"] = value::array(r);
  return out;
}

StatusSummary SummarizeStatus(const StatusInputs& in) {
  const plan::ClusterState& s = in.state;
  const plan::Transition& t = s.transition;
  const std::vector<std::string> fenced = Union(s.fenced, in.manuallyFenced);
  const bool bootstrapped = !s.primary.empty() || s.timeline != 0;
  const bool writable = !s.routedPrimary.empty() && !t.active();
  const bool sync_ok = SyncSatisfied(in);
  const std::string ready_text =
      std::to_string(in.readyInstances) + "/" + std::to_string(in.instances) + " ready";

  // Degraded: every reason, the first one names it.
  std::vector<std::pair<std::string, std::string>> degraded;
  if (bootstrapped && s.routedPrimary.empty())
    degraded.push_back({"NoRoutedPrimary", "no primary is routed: writes fail closed"});
  if (in.readyInstances < in.instances) degraded.push_back({"InstancesNotReady", ready_text});
  if (bootstrapped && !t.active() && !in.notStreaming.empty())
    degraded.push_back({"StandbysNotStreaming", "not streaming from the primary" +
                                                    (s.primary.empty() ? "" : " " + s.primary) + ": " +
                                                    Join(in.notStreaming)});
  if (!fenced.empty()) degraded.push_back({"InstancesFenced", "fenced: " + Join(fenced)});
  if (!sync_ok)
    degraded.push_back({"SyncReplicationNotSatisfied",
                        std::to_string(s.synchronousStandbys.size()) + " synchronous standbys, " +
                            std::to_string(in.replication.synchronousCount) + " wanted"});
  if (in.consensusKnown && !in.quorum)
    degraded.push_back({"NoConsensus", "the watchdog has no majority"});
  if (!in.parameterFailures.empty()) {
    std::string lines;
    for (const auto& f : in.parameterFailures) lines += (lines.empty() ? "" : "; ") + f;
    degraded.push_back({"ParametersNotApplied", "postgres.parameters not taken (tried again with backoff): " + lines});
  }

  Builder b{in, {}};
  // Phase, most specific first.
  if (t.kind == plan::TransitionKind::kFailover) {
    b.out.phase = "FailingOver";
    b.out.phaseReason = "failover from " + t.from + " to " + t.to;
  } else if (t.kind == plan::TransitionKind::kSwitchover) {
    b.out.phase = "SwitchingOver";
    b.out.phaseReason =
        "switchover from " + t.from + " to " + t.to + " (" + plan::ToString(t.step) + ")";
  } else if (bootstrapped && s.routedPrimary.empty() && in.wait && in.wait->timedOut) {
    b.out.phase = "Unrecoverable";
    b.out.phaseReason = in.wait->reason + ": " + in.wait->message;
  } else if (!bootstrapped) {
    b.out.phase = "Creating";
    b.out.phaseReason =
        in.wait ? in.wait->reason + ": " + in.wait->message : "bootstrapping " + ready_text;
  } else if (!in.rebuilding.empty()) {
    b.out.phase = "Rebuilding";
    b.out.phaseReason = "rebuilding " + Join(in.rebuilding);
  } else if (!degraded.empty()) {
    b.out.phase = "Degraded";
    b.out.phaseReason = degraded.front().second;
  } else {
    b.out.phase = "Healthy";
    b.out.phaseReason = ready_text + ", primary " + s.routedPrimary;
  }

  // Ready: writes are routed to a primary.
  if (writable)
    b.Add("Ready", true, "PrimaryRouted", "primary " + s.routedPrimary + ", " + ready_text);
  else
    b.Add("Ready", false,
          t.active()     ? b.out.phase
          : bootstrapped ? "NoRoutedPrimary"
                         : "Creating",
          b.out.phaseReason);

  if (in.specValid && in.parametersRefused.empty())
    b.Add("SpecValid", true, "Accepted",
          "the spec of generation " + std::to_string(in.generation) + " is in force");
  else if (in.specValid)
    b.Add("SpecValid", false, "ParametersInvalid",
          "postgres.parameters refused: " + in.parametersRefused + "\nthe last applied spec stays in force");
  else
    b.Add("SpecValid", false, "Invalid",
          in.specErrors + (in.specErrors.empty() ? "" : "\n") +
              "the last accepted spec stays in force");

  if (in.wait && in.wait->timedOut)
    b.Add("Progressing", false, in.wait->reason + "TimedOut", in.wait->message);
  else if (t.active())
    b.Add("Progressing", true, b.out.phase, b.out.phaseReason);
  else if (in.wait)
    b.Add("Progressing", true, in.wait->reason, in.wait->message);
  else if (!in.rebuilding.empty())
    b.Add("Progressing", true, "Rebuilding", b.out.phaseReason);
  else
    b.Add("Progressing", false, "Settled", "nothing in progress");

  if (degraded.empty()) {
    b.Add("Degraded", false, "AllInstancesHealthy", ready_text);
  } else {
    std::string message;
    for (const auto& d : degraded) message += (message.empty() ? "" : "; ") + d.second;
    b.Add("Degraded", true, degraded.front().first, message);
  }

  if (!in.consensusKnown)
    b.Add("ConsensusHealthy", false, "NotObserved", "the watchdog's view is not known", true);
  else if (in.quorum)
    b.Add("ConsensusHealthy", true, "MajorityLive", "the watchdog leader holds a majority lease");
  else
    b.Add("ConsensusHealthy", false, "NoConsensus", "no watchdog leader holds a majority lease");

  if (in.replication.mode != ReplicationMode::kSync)
    b.Add("SyncReplicationSatisfied", true, "NotRequired", "asynchronous replication");
  else if (sync_ok)
    b.Add("SyncReplicationSatisfied", true, "Satisfied",
          "synchronous: " + Join(s.synchronousStandbys));
  else
    b.Add("SyncReplicationSatisfied", false, "NotEnoughSynchronousStandbys",
          std::to_string(s.synchronousStandbys.size()) + " of " +
              std::to_string(in.replication.synchronousCount) + " synchronous standbys" +
              (s.synchronousStandbys.empty() ? "" : ": " + Join(s.synchronousStandbys)));

  if (!in.manuallyFenced.empty())
    b.Add("Fenced", true, "ManualFence", "fenced: " + Join(fenced));
  else if (!fenced.empty())
    b.Add("Fenced", true, "InstancesFenced", "fenced until rebuilt: " + Join(fenced));
  else
    b.Add("Fenced", false, "NoneFenced", "no instance is fenced");
  return b.out;
}

}  // namespace pgvigil::kube
