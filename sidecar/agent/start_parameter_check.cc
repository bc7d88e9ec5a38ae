// See start_parameter_check.h.
#include "sidecar/agent/start_parameter_check.h"

#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "common/files.h"
#include "common/process.h"
#include "sidecar/agent/config_check_output.h"
#include "sidecar/agent/postgres_parameters.h"
#include "sidecar/agent/refused_parameters.h"

namespace pgvigil {

namespace {

// A scratch directory, removed with everything in it when this goes.
class ScratchDir {
 public:
  ScratchDir() {
    char name[] = "/tmp/pgvigil-parameters-XXXXXX";
    if (::mkdtemp(name)) path_ = name;
    else error_ = std::string("mkdtemp: ") + std::strerror(errno);
  }
  ~ScratchDir() {
    if (path_.empty()) return;
    for (const char* f : {"/postgresql.conf", "/postgresql.auto.conf"}) (void)::unlink((path_ + f).c_str());
    if (::rmdir(path_.c_str()) != 0) (void)RemoveTree(path_);  // something more in it
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_, error_;
};

// PostgreSQL's verdict on `params` as the only settings of a configuration file.
Result<ConfigCheckVerdict> ReadByPostgres(const LocalNode& node, const std::map<std::string, std::string>& params) {
  ScratchDir dir;
  if (dir.path().empty()) return Status::Error(dir.error());
  const std::string conf = dir.path() + "/postgresql.conf";
  const std::string auto_conf = dir.path() + "/postgresql.auto.conf";
  if (Status s = WriteFileAtomic(conf, RenderPgvigilConf(params), 0600); !s.ok()) return s;
  if (Status s = WriteFileAtomic(auto_conf, "", 0600); !s.ok()) return s;
  for (const std::string& p : {dir.path(), conf, auto_conf})
    if (Status s = ChownToUser(p, node.osUser); !s.ok()) return s;
  ProcessOptions o;
  o.timeout = std::chrono::seconds(30);
  o.runAsUser = node.osUser;
  o.env = {{"LC_ALL", "C"}, {"LC_MESSAGES", "C"}};  // the words ReadConfigCheckOutput reads
  o.workingDirectory = dir.path();
  o.tailLines = 200;
  const std::string postgres = node.binDir + "/postgres";
  auto r = RunProcess({postgres, "-D", dir.path(), "-C", "server_version", "-c", "log_line_prefix="}, o);
  if (!r.ok()) return r.status().Context(postgres);
  if (r->success()) return ConfigCheckVerdict{};
  ConfigCheckVerdict v = ReadConfigCheckOutput(r->outputTail);
  if (!v.refused) return Status::Error(postgres + " -C: " + r->Describe() + ": " + r->outputTail);
  return v;
}

}  // namespace

Result<std::vector<ParameterProblem>> CheckParametersWithPostgres(const LocalNode& node,
                                                                  const std::map<std::string, std::string>& params) {
  std::vector<ParameterProblem> out;
  if (params.empty()) return out;
  auto all = ReadByPostgres(node, params);
  if (!all.ok()) return all.status();
  if (!all->refused) return out;
  for (const auto& [name, value] : params) {
    auto one = ReadByPostgres(node, {{name, value}});
    if (!one.ok()) return one.status();
    if (one->refused) out.push_back({name, value, one->reason});
  }
  // Refused together, each taken alone: none of them can be trusted.
  if (out.empty())
    for (const auto& [name, value] : params)
      out.push_back({name, value, "refused together with the other settings: " + all->reason});
  return out;
}

StartSpec PrepareStartSpec(const ClusterSpec& file_spec, uint64_t file_generation, const std::string& file_path,
                           const std::string& state_dir, const std::string& node) {
  StartSpec start = ResolveStartSpec(file_spec, file_generation, file_path, state_dir, node);
  auto& params = start.spec.postgres.parameters;
  if (params.empty()) return start;
  const std::string source = start.fromStore ? StoredSpecPath(state_dir) : file_path;
  auto problems = CheckParametersWithPostgres(LocalNode::From(start.spec, node, state_dir), params);
  if (!problems.ok()) {
    spdlog::warn("postgres.parameters of {} not checked before start ({}): written to pgvigil.conf as they are",
                 source, problems.error());
    return start;
  }
  for (const auto& p : *problems) {
    spdlog::error("{}: spec.postgres.parameters.{}: value '{}' set aside at start, PostgreSQL would not start "
                  "with it ({}); starting with the other settings, {} as postgresql.conf or PostgreSQL's default "
                  "has it; fix the spec",
                  source, p.name, p.value, p.reason, p.name);
    params.erase(p.name);
    start.setAside.push_back({p.name, p.value, "PostgreSQL would not start with it: " + p.reason});
  }
  return start;
}

}  // namespace pgvigil
