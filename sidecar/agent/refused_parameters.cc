#include "sidecar/agent/refused_parameters.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "common/files.h"
#include "common/strings.h"

namespace pgvigil {

using web::json::value;

std::string RefusedParametersPath(const std::string& state_dir) { return state_dir + "/refused-parameters.json"; }

Status SaveRefusedParameters(const std::string& state_dir, const RefusedParameters& r) {
  value v = value::object();
  v["generation"] = value::number(r.generation);
  v["held"] = value::number(r.held);
  value p = value::object();
  for (const auto& [name, val] : r.parameters) p[name] = value::string(val);
  v["parameters"] = p;
  return WriteFileAtomic(RefusedParametersPath(state_dir), v.serialize() + "\n", 0600);
}

Status ClearRefusedParameters(const std::string& state_dir) {
  const std::string path = RefusedParametersPath(state_dir);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return Status::Error("removing " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

Result<std::optional<RefusedParameters>> LoadRefusedParameters(const std::string& state_dir) {
  using R = Result<std::optional<RefusedParameters>>;
  const std::string path = RefusedParametersPath(state_dir);
  auto text = ReadFileIfPresent(path);
  if (!text.ok()) return R::Error(path + ": " + text.error());
  if (!*text) return std::optional<RefusedParameters>();
  RefusedParameters r;
  try {
    value v = value::parse(**text);
    r.generation = v.at("generation").as_number().to_uint64();
    r.held = v.at("held").as_number().to_uint64();
    for (const auto& kv : v.at("parameters").as_object()) r.parameters[kv.first] = kv.second.as_string();
  } catch (const std::exception& e) {
    return R::Error(path + ": needs {\"generation\", \"held\", \"parameters\": {...}}: " + e.what());
  }
  return std::optional<RefusedParameters>(std::move(r));
}

std::vector<std::string> SetAsideRefused(StartSpec* start, const RefusedParameters& refused,
                                         const std::optional<StoredSpec>& stored) {
  auto is_refused = [&](const std::string& name, const std::string& val) {
    auto it = refused.parameters.find(name);
    return it != refused.parameters.end() && it->second == val;
  };
  std::vector<std::string> aside;
  for (const auto& [name, val] : start->spec.postgres.parameters)
    if (is_refused(name, val)) {
      aside.push_back(name + "='" + val + "'");
      start->setAside.push_back(
          {name, val, "PostgreSQL refused it in spec generation " + std::to_string(refused.generation)});
    }
  if (aside.empty()) return aside;
  std::map<std::string, std::string> params =
      stored && !start->fromStore ? stored->spec.postgres.parameters : start->spec.postgres.parameters;
  for (auto it = params.begin(); it != params.end();) it = is_refused(it->first, it->second) ? params.erase(it) : ++it;
  start->spec.postgres.parameters = std::move(params);
  start->generation = std::min(start->generation, refused.held);
  return aside;
}

StartSpec ResolveStartSpec(const ClusterSpec& file_spec, uint64_t file_generation, const std::string& file_path,
                           const std::string& state_dir, const std::string& node) {
  auto stored = LoadStoredSpec(state_dir);
  if (!stored.ok()) spdlog::error("the stored spec copy is not used: {}", stored.error());
  std::optional<StoredSpec> copy = stored.ok() ? *stored : std::nullopt;
  if (copy && (copy->spec.name != file_spec.name || !copy->spec.FindNode(node))) {
    spdlog::error("the stored spec copy (generation {}) names another cluster or not node '{}': using {}",
                  copy->generation, node, file_path);
    copy.reset();
  }
  StartSpec start = ChooseStartSpec(file_spec, file_generation, copy);
  if (start.fromStore)
    spdlog::info("starting from the stored spec copy {} (generation {}; {} has generation {})",
                 StoredSpecPath(state_dir), start.generation, file_path, file_generation);
  auto refused = LoadRefusedParameters(state_dir);
  if (!refused.ok()) {
    spdlog::error("{}", refused.error());
  } else if (*refused) {
    const uint64_t chosen = start.generation;
    std::vector<std::string> aside = SetAsideRefused(&start, **refused, copy);
    const std::string names = Join(aside);
    if (!aside.empty())
      spdlog::warn("postgres.parameters {} set aside at start: PostgreSQL refused them in spec generation {}; "
                   "starting with the last settings that took{}, holding generation {} (was {}) so that "
                   "generation is tried again when pushed",
                   names, (*refused)->generation, copy && !start.fromStore ? " (the stored copy's)" : "",
                   start.generation, chosen);
  }
  return start;
}

}  // namespace pgvigil
