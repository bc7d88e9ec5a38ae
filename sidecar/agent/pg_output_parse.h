// Decoding the text output of PostgreSQL tools the agent runs. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sidecar/health_view.h"

namespace pgvigil {

// pg_controldata output, the fields the agent decides on.
struct ControlData {
  std::string clusterState;  // "shut down", "shut down in recovery", "in production", ...
  uint64_t timeline = 0;     // "Latest checkpoint's TimeLineID"
  bool walLogHints = false;  // "wal_log_hints setting: on"
  bool checksums = false;    // "Data page checksum version" != 0
  bool cleanShutdown() const {
    return clusterState == "shut down" || clusterState == "shut down in recovery";
  }
};
// Fails (nullopt) when the mandatory "Database cluster state" line is missing.
std::optional<ControlData> ParseControlData(const std::string& output);

// One progress line of pg_basebackup -P ("  1234/56789 kB (2%), 0/1 tablespace")
// or pg_rewind -P ("  1234/56789 kB (2%) copied").
struct CopyProgress {
  uint64_t doneBytes = 0;
  uint64_t totalBytes = 0;
  int percent = 0;
};
std::optional<CopyProgress> ParseCopyProgress(const std::string& line);

// The primary's pg_stat_replication as the status query gives it: one line a
// walsender, "application_name<TAB>state<TAB>sync_state" (PostgreSQL shows only
// printable ASCII in application_name, so neither separator is in a name).
// Lines without both tabs are passed over; "" is no walsender.
std::vector<ReplicaSeen> ParseReplicaRows(const std::string& text);

}  // namespace pgvigil
