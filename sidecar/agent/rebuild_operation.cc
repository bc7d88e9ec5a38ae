// The rebuild operation (NodeOperations::Rebuild): make this node a standby of
// a given primary by pg_rewind when possible, else pg_basebackup -X stream.
// Every step can be interrupted (process or sidecar killed) and the rebuild
// simply run again:
//  - the old data directory stays in place while pg_basebackup fills DATA.pgvigil-new,
//    then is moved to DATA.pgvigil-old and deleted only once the new one has started
//    as a standby;
//  - this node's configuration files are saved in the state directory once per
//    rebuild and restored into the new/rewound directory;
//  - a marker file in the state directory records that pg_rewind started; a rerun
//    after an unfinished rewind uses pg_basebackup (a half-rewound directory is
//    not trusted).
#include <cpprest/json.h>

#include "common/files.h"
#include "sidecar/agent/node_operations.h"
#include "sidecar/agent/rebuild_plan.h"

namespace pgvigil {

namespace {

struct Marker {
  bool configSaved = false;
  bool rewindStarted = false;
};

Marker LoadMarker(const std::string& path) {
  Marker m;
  auto text = ReadFile(path);
  if (!text.ok()) return m;
  try {
    auto v = web::json::value::parse(*text);
    if (v.has_field("configSaved")) m.configSaved = v.at("configSaved").as_bool();
    if (v.has_field("rewindStarted")) m.rewindStarted = v.at("rewindStarted").as_bool();
  } catch (const std::exception&) {
    // A corrupt marker: assume the worst (an unfinished rewind, nothing saved).
    m.rewindStarted = true;
  }
  return m;
}

Status SaveMarker(const std::string& path, const Marker& m) {
  auto v = web::json::value::object();
  v["configSaved"] = web::json::value::boolean(m.configSaved);
  v["rewindStarted"] = web::json::value::boolean(m.rewindStarted);
  return WriteFileAtomic(path, v.serialize() + "\n", 0600);
}

}  // namespace

Status NodeOperations::Rebuild(PgTools& t, const OpRequest& req, Operation& op) {
  const std::optional<NodeSpec> member = node_.Member(req.primary);
  const NodeSpec* primary = member ? &*member : nullptr;
  if (!primary) return Status::Error("unknown primary " + req.primary);
  if (node_.stateDir.empty()) return Status::Error("rebuild needs a state directory (--state-dir)");
  if (Status s = MakeDir(node_.stateDir, 0700); !s.ok()) return s;

  // Facts, then the pure plan.
  RebuildFacts f;
  f.fenced = req.fenced;
  f.requested = req.method;
  f.specMethod = node_.spec.recovery.method;
  Status inspect = Inspect(t, req.fenced, &f.running, &f.role, op);
  if (!inspect.ok()) return inspect;  // e.g. an unfenced running primary
  // A sidecar killed mid-rebuild leaves its pg_basebackup / pg_rewind running.
  if (int n = KillStrayCopies({node_.dataDir, node_.newDir()}); n > 0)
    op.Log("killed " + std::to_string(n) + " copy process(es) left by an interrupted rebuild");
  Marker marker = LoadMarker(node_.markerFile());
  f.rewindInterrupted = marker.rewindStarted;
  if (IsDataDir(node_.dataDir)) {
    auto cd = t.ReadControlData(node_.dataDir);
    if (cd.ok()) {
      f.dataDirValid = true;
      f.walLogHints = cd->walLogHints;
      f.checksums = cd->checksums;
      op.Log("data directory: cluster state '" + cd->clusterState + "', timeline " +
             std::to_string(cd->timeline) + ", wal_log_hints " + (cd->walLogHints ? "on" : "off") +
             ", checksums " + (cd->checksums ? "on" : "off"));
    } else {
      op.Log("data directory unreadable: " + cd.error());
    }
  } else {
    op.Log("no valid data directory at " + node_.dataDir);
  }
  RebuildPlan plan = PlanRebuild(f);
  if (plan.refused) return Status::Error("refused: " + plan.refusal);
  op.SetMethod(ToString(plan.method));
  std::string steps;
  for (auto s : plan.steps) steps += std::string(steps.empty() ? "" : ", ") + ToString(s);
  op.Log(std::string("plan: ") + ToString(plan.method) + " (" + plan.reason + "); steps: " + steps);

  auto progress = [&op](const std::string& line) {
    if (auto p = ParseCopyProgress(line)) op.SetProgress(p->doneBytes, p->totalBytes, p->percent);
  };

  // Runs one step; the executor of the plan.
  auto run_step = [&](RebuildStep step) -> Status {
    op.SetStep(ToString(step));
    switch (step) {
      case RebuildStep::kStop:
        return t.Stop("fast");
      case RebuildStep::kSaveLocalConfig: {
        if (marker.configSaved && PathExists(node_.savedConfigDir())) {
          op.Log("local configuration already saved by an earlier attempt");
          return Status::Ok();
        }
        std::string from = IsDataDir(node_.dataDir) ? node_.dataDir
                           : IsDataDir(node_.oldDir()) ? node_.oldDir() : "";
        if (from.empty()) {
          op.Log("no local configuration to keep: the primary's is used, with this node's port");
          return Status::Ok();
        }
        if (Status s = RemoveTree(node_.savedConfigDir()); !s.ok()) return s;
        if (Status s = MakeDir(node_.savedConfigDir(), 0700); !s.ok()) return s;
        for (const char* file : kLocalConfigFiles) {
          if (!PathExists(from + "/" + file)) continue;
          if (Status s = CopyFile(from + "/" + file, node_.savedConfigDir() + "/" + file); !s.ok())
            return s;
        }
        marker.configSaved = true;
        op.Log("saved local configuration from " + from);
        return SaveMarker(node_.markerFile(), marker);
      }
      case RebuildStep::kRewind: {
        marker.rewindStarted = true;
        if (Status s = SaveMarker(node_.markerFile(), marker); !s.ok()) return s;
        auto src = node_.PeerConn(*primary, false);
        if (!src.ok()) return src.status();
        // A just-promoted primary writes its new timeline into pg_control only at
        // its next checkpoint; until then pg_rewind sees "the same timeline".
        if (Status s = ExecSql(*src, "CHECKPOINT"); !s.ok()) return s.Context("CHECKPOINT on " + primary->name);
        op.Log("checkpoint done on " + primary->name);
        ConnParams p = *src;
        std::string password = p.password;
        p.password.clear();  // passed in the environment, not on the command line
        std::map<std::string, std::string> env;
        if (!password.empty()) env["PGPASSWORD"] = password;
        return t.Run({"pg_rewind", "-D", node_.dataDir, "--source-server=" + BuildConnInfo(p), "-P"},
                     std::chrono::hours(12), env, progress);
      }
      case RebuildStep::kBasebackup: {
        std::string dir = node_.newDir();
        if (Status s = RemoveTree(dir); !s.ok()) return s;
        if (Status s = MakeDir(dir, 0700); !s.ok()) return s;
        if (Status s = ChownToUser(dir, node_.osUser); !s.ok()) return s;
        auto src = node_.PeerConn(*primary, true);
        if (!src.ok()) return src.status();
        ConnParams p = *src;
        std::string password = p.password;
        p.password.clear();
        std::map<std::string, std::string> env;
        if (!password.empty()) env["PGPASSWORD"] = password;
        std::vector<std::string> argv = {"pg_basebackup", "-D", dir, "-d", BuildConnInfo(p),
                                         "-X", "stream", "-c", "fast", "-P"};
        if (req.maxRateBytes) {
          argv.push_back("-r");
          argv.push_back(std::to_string(req.maxRateBytes / 1024) + "k");
        }
        if (Status s = t.Run(argv, std::chrono::hours(24), env, progress); !s.ok()) return s;
        auto snap = op.Snapshot();
        op.SetProgress(snap.totalBytes ? snap.totalBytes : snap.doneBytes,
                       snap.totalBytes ? snap.totalBytes : snap.doneBytes, 100);
        return Status::Ok();
      }
      case RebuildStep::kConfigureStandby: {
        std::string dir = plan.method == RebuildMethod::kRewind ? node_.dataDir : node_.newDir();
        return ConfigureStandby(dir, *primary, req.slot, true, op);
      }
      case RebuildStep::kSwapDataDir: {
        if (PathExists(node_.dataDir)) {
          if (!PathExists(node_.oldDir())) {
            if (Status s = RenamePath(node_.dataDir, node_.oldDir()); !s.ok()) return s;
            op.Log("moved the old data directory aside to " + node_.oldDir());
          } else {
            // The original is already aside (an earlier attempt got this far); what is
            // at DATA now is a copy from that attempt.
            op.Log("the original data directory is already kept at " + node_.oldDir() +
                   "; removing the copy left at " + node_.dataDir + " by an earlier attempt");
            if (Status s = RemoveTree(node_.dataDir); !s.ok()) return s;
          }
        }
        if (Status s = RenamePath(node_.newDir(), node_.dataDir); !s.ok()) return s;
        op.Log("new data directory in place at " + node_.dataDir);
        return Status::Ok();
      }
      case RebuildStep::kStart:
        return t.Start();
      case RebuildStep::kWaitStreaming:
        return t.WaitStreaming(*primary, kStreamingTimeout);
      case RebuildStep::kCleanup: {
        if (PathExists(node_.oldDir())) {
          if (Status s = RemoveTree(node_.oldDir()); !s.ok()) return s;
          op.Log("removed the old data directory " + node_.oldDir());
        }
        if (Status s = RemoveTree(node_.savedConfigDir()); !s.ok()) return s;
        ::unlink(node_.markerFile().c_str());
        return Status::Ok();
      }
    }
    return Status::Error("unknown step");
  };

  for (auto step : plan.steps) {
    Status s = run_step(step);
    if (s.ok()) continue;
    bool rewind_phase = step == RebuildStep::kRewind || step == RebuildStep::kStart ||
                        step == RebuildStep::kWaitStreaming;
    if (!(plan.method == RebuildMethod::kRewind && plan.fallbackToBasebackup && rewind_phase))
      return s.Context(ToString(step));
    op.Log(std::string("rewind path failed at ") + ToString(step) + ": " + s.message() +
           "; falling back to pg_basebackup");
    auto st = t.RunState();
    bool running_now = st.ok() && *st == PgRunState::kRunning;
    plan.method = RebuildMethod::kBasebackup;
    op.SetMethod(ToString(plan.method));
    op.SetProgress(0, 0, 0);
    for (auto b : BasebackupSteps(running_now)) {
      if (b == RebuildStep::kSaveLocalConfig) continue;  // saved before the rewind
      if (Status bs = run_step(b); !bs.ok()) return bs.Context(ToString(b));
    }
    return Status::Ok();
  }
  return Status::Ok();
}

}  // namespace pgvigil
