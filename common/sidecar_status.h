// GET /v1/status of the sidecar agent: what one node's sidecar reports of its
// PostgreSQL, of the health of every backend it checks, of its self-fence, of
// its other components and of its latest operation. One contract for both
// sides: the sidecar builds these values and encodes them, the controller
// decodes them (controller/observe/sidecar_observer.cc). The probe bodies
// (/primary, /replica, ...) are the "postgres" section alone, without
// dataDirectoryInitialized and parameters; GET /v1/node/operations/<id> is one
// SidecarOperation.
//
// {"node": "<name>", "term": N,
//  "postgres": {"running", "role": "primary"|"standby"|"unknown", "timeline", "lsn",
//               standby only: "receivedLsn", "replayLagBytes" (null: unknown), "walReceiver",
//                             "upstreamHost", "upstreamPort",
//               "lastError" (only when not empty), "dataDirectoryInitialized",
//               "dataDirectoryRole": "primary"|"standby" (only when initialized),
//               "parameters": {"file", "count", "included", "pendingRestart": [names],
//                              "errors": [{"name", "error"}],
//                              "setAside": [{"name", "value", "reason"}], "lastApplied",
//                              "lastError"}},
//  "backends": [{"node", "up", "role", "timeline", "lsn", "receivedLsn", "replayLagBytes",
//                "lastError", "lastChange", "lastCheck"}],   (times ISO-8601 UTC, "" never)
//  "selfFence": {"enabled",
//                with a fencer: "leaseRequired", "leaseHeld", "fenced", "fences",
//                               "lastFence": null | {"at", "reason", "signal", "stoppedAfterMs"
//                               (null: still running)},
//                without one: "why",
//                Kubernetes mode: "fencedInTerm" (null: not fenced)},
//  "components": {"<name>": <that component's summary>, ...}   ("proxy": ProxySummary;
//                "watchdog": WatchdogSummary, common/watchdog_detail.h)
//  "operation": null | {"id", "type", "state": "running"|"succeeded"|"failed", "step",
//                       "method" (null: none), "progress": {"doneBytes", "totalBytes", "percent"},
//                       "term", "startedAt", "finishedAt" (null: running), "durationMs",
//                       "error" (null: none), "log": [lines]}}
//
// Decoding is tolerant, as the controller has always read these bodies, so a
// sidecar of an older release (no dataDirectoryInitialized, no
// dataDirectoryRole, no setAside, no fencedInTerm) is read as well as a current one: a missing or null field reads
// as its default; a field of another type reads as its default too and is named
// in `notes` ("postgres.running: not true or false"); integers may come as a
// string of digits. The only error is a body that is not an object or has no
// "postgres" section. Pure; thread-safe (no state).
#pragma once

#include <cpprest/json.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace pgvigil {

// A standby's replication, from its own PostgreSQL.
struct SidecarStandby {
  uint64_t receivedLsn = 0;
  std::optional<uint64_t> replayLagBytes;  // none: the primary's position is not known
  std::string walReceiver;                 // pg_stat_wal_receiver.status ("streaming", ...) or ""
  std::string upstreamHost;
  int upstreamPort = 0;
};

struct SidecarParameterError {
  std::string name;
  std::string error;  // PostgreSQL's words (pg_file_settings.error)
};

// A setting of the start spec the sidecar's start left out, and why.
struct SidecarParameterSetAside {
  std::string name;
  std::string value;
  std::string reason;
};

// postgres.parameters as written to pgvigil.conf and seen by PostgreSQL.
struct SidecarParameters {
  std::string file;
  int64_t count = 0;
  bool included = false;                    // the include line is in postgresql.conf
  std::vector<std::string> pendingRestart;  // pg_settings.pending_restart
  std::vector<SidecarParameterError> errors;
  std::vector<SidecarParameterSetAside> setAside;  // newer sidecars only
  std::string lastApplied;
  std::string lastError;
};

// This node's PostgreSQL as the sidecar's health check last saw it.
struct SidecarPostgres {
  bool running = false;
  std::string role = "unknown";  // "unknown" whenever it is not running
  uint64_t timeline = 0;
  uint64_t lsn = 0;  // primary: current; standby: replayed
  std::optional<SidecarStandby> standby;
  std::string lastError;  // written only when not empty
  // GET /v1/status only (not in the probe bodies). dataDirectoryInitialized:
  // none from an older sidecar, which the controller takes as initialized.
  std::optional<bool> dataDirectoryInitialized;
  // GET /v1/status only: what the data directory is, running or not: "standby"
  // (standby.signal or recovery.signal in it), "primary" (neither: it starts
  // writable). "" not said: no initialized data directory, or an older sidecar,
  // which the controller takes as unknown (it never starts such a node as a
  // primary). Any other word is kept as read, and is unknown to the controller.
  std::string dataDirectoryRole;
  std::optional<SidecarParameters> parameters;
};

// One backend as this sidecar's health check sees it (its vote in standalone mode).
struct SidecarBackend {
  std::string node;
  bool up = false;
  std::string role = "unknown";
  uint64_t timeline = 0;
  uint64_t lsn = 0;
  uint64_t receivedLsn = 0;
  uint64_t replayLagBytes = 0;
  std::string lastError;
  std::string lastChange;  // ISO-8601 UTC; "" never
  std::string lastCheck;   // ISO-8601 UTC; "" not checked yet (no vote)
};

struct SidecarLastFence {
  std::string at;  // ISO-8601 UTC
  std::string reason;
  std::string signal;                     // SIGINT | SIGQUIT
  std::optional<int64_t> stoppedAfterMs;  // none: the postmaster was still there
};

// The fencer's state (sidecar/agent/self_fence.h).
struct SidecarFencer {
  bool leaseRequired = false;
  bool leaseHeld = true;
  bool fenced = false;  // since the lease went out
  uint64_t fences = 0;
  std::optional<SidecarLastFence> lastFence;
};

struct SidecarSelfFence {
  bool enabled = false;
  std::optional<SidecarFencer> fencer;  // none: no fencer (the watchdog is disabled)
  std::string why;                      // why there is no fencer; written only when not empty
  // Kubernetes mode only (fencedInTermShown): the term this node fenced itself
  // in, none when it has not; PostgreSQL stays stopped until a newer term acts.
  bool fencedInTermShown = false;
  std::optional<uint64_t> fencedInTerm;
};

// An asynchronous node operation (sidecar/agent/operations.h).
struct SidecarOperation {
  std::string id;
  std::string type;   // promote | stop | start | restart | follow | rebuild | init
  std::string state;  // running | succeeded | failed ("" from a body that does not say)
  std::string step;
  std::string method;  // rebuild: rewind | basebackup; "" none (null)
  uint64_t doneBytes = 0;
  uint64_t totalBytes = 0;
  int percent = 0;
  uint64_t term = 0;
  std::string startedAt;   // ISO-8601 UTC
  std::string finishedAt;  // "" still running (null)
  int64_t durationMs = 0;
  std::string error;             // "" none (null)
  std::vector<std::string> log;  // the last lines, oldest first
};

struct SidecarStatus {
  std::string node;
  uint64_t term = 0;  // the highest term this sidecar has seen
  SidecarPostgres postgres;
  std::vector<SidecarBackend> backends;
  SidecarSelfFence selfFence;
  // Each other component's summary as it gives it (Component::Summary).
  std::map<std::string, web::json::value> components;
  std::optional<SidecarOperation> operation;  // the latest; none (null) before the first
};

// components.proxy (sidecar/proxy/proxy_server.h).
struct ProxySummaryNode {
  std::string node;
  std::string status;  // as show pool_nodes has it
  std::string role;
  uint64_t selectCount = 0;
  bool loadBalance = false;
  std::string why;  // why not load balanced; written only when loadBalance is false
};

struct ProxySummary {
  int port = 0;
  int clients = 0;
  uint64_t routingGeneration = 0;
  std::string primary;                         // "" none
  std::optional<std::string> noPrimaryReason;  // written when there is no primary
  bool paused = false;
  int inTransaction = 0;  // sessions in a transaction on the primary
  std::vector<int> workerSessions;
  std::vector<ProxySummaryNode> nodes;
};

web::json::value ToJson(const SidecarStatus& s);
web::json::value ToJson(const SidecarPostgres& p);
web::json::value ToJson(const SidecarParameters& p);
web::json::value ToJson(const SidecarSelfFence& f);
web::json::value ToJson(const SidecarOperation& o);
web::json::value ToJson(const ProxySummary& p);

// See the top of this file for what is tolerated; `notes` (may be null) gets
// one line per field read as its default because of its type.
Result<SidecarStatus> SidecarStatusFromJson(const web::json::value& v,
                                            std::vector<std::string>* notes = nullptr);
SidecarOperation SidecarOperationFromJson(const web::json::value& v,
                                          std::vector<std::string>* notes = nullptr);
ProxySummary ProxySummaryFromJson(const web::json::value& v,
                                  std::vector<std::string>* notes = nullptr);

bool operator==(const SidecarStandby& a, const SidecarStandby& b);
bool operator==(const SidecarParameterError& a, const SidecarParameterError& b);
bool operator==(const SidecarParameterSetAside& a, const SidecarParameterSetAside& b);
bool operator==(const SidecarParameters& a, const SidecarParameters& b);
bool operator==(const SidecarPostgres& a, const SidecarPostgres& b);
bool operator==(const SidecarBackend& a, const SidecarBackend& b);
bool operator==(const SidecarLastFence& a, const SidecarLastFence& b);
bool operator==(const SidecarFencer& a, const SidecarFencer& b);
bool operator==(const SidecarSelfFence& a, const SidecarSelfFence& b);
bool operator==(const SidecarOperation& a, const SidecarOperation& b);
bool operator==(const SidecarStatus& a, const SidecarStatus& b);
bool operator==(const ProxySummaryNode& a, const ProxySummaryNode& b);
bool operator==(const ProxySummary& a, const ProxySummary& b);

}  // namespace pgvigil
