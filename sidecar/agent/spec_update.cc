#include "sidecar/agent/spec_update.h"

#include <algorithm>

#include "common/agent_refusal.h"
#include "common/files.h"
#include "common/strings.h"

namespace pgvigil {

bool OneMemberAtTheEnd(const NodeList& current, const NodeList& next) {
  const size_t a = current.size(), b = next.size();
  if (a + 1 != b && b + 1 != a) return false;
  for (size_t i = 0; i < std::min(a, b); ++i)
    if (current[i].name != next[i].name) return false;
  return true;
}

namespace {

bool SameNames(const NodeList& a, const NodeList& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name) return false;
  return true;
}

}  // namespace

SpecChange CompareSpecs(const ClusterSpec& running, const ClusterSpec& pushed) {
  SpecChange c;
  c.other = FirstDifferenceBesides(running, pushed, {"spec.nodes", "spec.postgres.parameters"});
  ClusterSpec running_nodes = pushed;  // the pushed spec with the running members
  running_nodes.nodes = running.nodes;
  c.nodes = SpecToJson(running_nodes) != SpecToJson(pushed);
  c.nodesLive = c.nodes && (SameNames(running.nodes, pushed.nodes) || OneMemberAtTheEnd(running.nodes, pushed.nodes));
  const auto& a = running.postgres.parameters;
  const auto& b = pushed.postgres.parameters;
  for (const auto& [name, value] : a) {
    auto it = b.find(name);
    if (it == b.end() || it->second != value) c.parameters.push_back(name);
  }
  for (const auto& [name, value] : b)
    if (!a.count(name)) c.parameters.push_back(name);
  std::sort(c.parameters.begin(), c.parameters.end());
  return c;
}

SpecUpdateDecision DecideSpecUpdate(const ClusterSpec& running, uint64_t held, const NodeSpecPush& push,
                                    const std::string& self) {
  SpecUpdateDecision d;
  d.reply.generation = held;
  const std::string gen = "generation " + std::to_string(push.generation);
  if (push.generation <= held) {
    d.reply.outcome = SpecPushOutcome::kStale;
    d.reply.reason = gen + " is not newer than the one held (" + std::to_string(held) + "): nothing changes";
    return d;
  }
  if (!push.spec.FindNode(self)) {
    d.status = 409;
    d.refusal = refusal::kNotAMember;
    d.reply.field = "spec.nodes";
    d.reply.reason = gen + " does not list this node '" + self + "': refused, nothing changes";
    return d;
  }
  d.persist = true;
  d.reply.generation = push.generation;
  const SpecChange c = CompareSpecs(running, push.spec);
  if (!c.other.empty()) {
    d.reply.outcome = SpecPushOutcome::kRestartRequired;
    d.reply.field = c.other;
    d.reply.reason = gen + " changes " + c.other + ", which takes effect at the next start: stored, the running spec "
                     "stays";
    return d;
  }
  if (!c.any()) {
    d.reply.outcome = SpecPushOutcome::kUnchanged;
    d.reply.reason = gen + " is the spec running here";
    return d;
  }
  if (!c.live()) {
    d.reply.outcome = SpecPushOutcome::kRestartRequired;
    d.reply.field = "spec.nodes";
    d.reply.reason = gen + " changes the members by more than the last one (" + std::to_string(running.nodes.size()) +
                     " -> " + std::to_string(push.spec.nodes.size()) +
                     "); live changes go one member at a time: stored, the running spec stays";
    return d;
  }
  d.applyNodes = c.nodes;
  d.applyParameters = !c.parameters.empty();
  d.reply.outcome = SpecPushOutcome::kApplied;
  d.reply.reason = gen + ":";
  if (c.nodes)
    d.reply.reason += " " + std::to_string(push.spec.nodes.size()) + " members in use (were " +
                      std::to_string(running.nodes.size()) + ")";
  if (!c.parameters.empty()) {
    const std::string names = Join(c.parameters);
    d.reply.reason += std::string(c.nodes ? ";" : "") + " postgres.parameters " + names +
                      " changed: pgvigil.conf rewritten and PostgreSQL reloaded";
  }
  return d;
}

void FinishParameterReply(const ParameterResult& result, uint64_t held, NodeSpecPushReply* reply) {
  reply->pendingRestart = result.pendingRestart;
  if (result.failed()) {
    reply->outcome = SpecPushOutcome::kFailed;
    reply->generation = held;
    reply->field = "spec.postgres.parameters";
    std::string why;
    if (!result.refused.empty()) {
      reply->field += "." + result.refused.front().first;
      for (const auto& [name, error] : result.refused)
        why += (why.empty() ? "" : "; ") + std::string("PostgreSQL refused ") + name + ": " + error;
    }
    if (!result.reloadError.empty()) why += (why.empty() ? "" : "; ") + std::string("reload failed: ") + result.reloadError;
    const std::string done = " pgvigil.conf rewritten and PostgreSQL reloaded";
    if (size_t at = reply->reason.find(done); at != std::string::npos) reply->reason.erase(at);
    reply->reason += " not taken: " + why + " (the previous settings put back; generation " + std::to_string(held) +
                     " still held, so the same push is tried again)";
    return;
  }
  if (result.pendingRestart.empty()) return;
  reply->reason += "; PostgreSQL waits for a restart to use " + Join(result.pendingRestart);
}

std::string StoredSpecPath(const std::string& state_dir) { return state_dir + "/spec.json"; }

Status SaveStoredSpec(const std::string& state_dir, const StoredSpec& s) {
  web::json::value v = web::json::value::object();
  v["generation"] = web::json::value::number(s.generation);
  v["spec"] = web::json::value::parse(SpecToJson(s.spec));
  return WriteFileAtomic(StoredSpecPath(state_dir), v.serialize() + "\n", 0600);
}

Result<std::optional<StoredSpec>> LoadStoredSpec(const std::string& state_dir, const SpecParseOptions& options) {
  using R = Result<std::optional<StoredSpec>>;
  const std::string path = StoredSpecPath(state_dir);
  auto text = ReadFileIfPresent(path);
  if (!text.ok()) return R::Error(path + ": " + text.error());
  if (!*text) return std::optional<StoredSpec>();
  web::json::value v;
  try {
    v = web::json::value::parse(**text);
  } catch (const std::exception& e) {
    return R::Error(path + ": not JSON: " + e.what());
  }
  if (!v.is_object() || !v.has_field("generation") || !v.at("generation").is_number() ||
      !v.at("generation").as_number().is_integral() || !v.has_object_field("spec"))
    return R::Error(path + ": needs {\"generation\": N, \"spec\": {...}}");
  SpecLoad load = ParseSpec(v.at("spec").serialize(), path, options);
  if (!load.ok()) return R::Error(load.ErrorText());
  return std::optional<StoredSpec>(StoredSpec{v.at("generation").as_number().to_uint64(), *load.spec});
}

StartSpec ChooseStartSpec(const ClusterSpec& file_spec, uint64_t file_generation,
                          const std::optional<StoredSpec>& stored) {
  if (stored && stored->generation > file_generation) return {stored->spec, stored->generation, true, {}};
  return {file_spec, file_generation, false, {}};
}

}  // namespace pgvigil
