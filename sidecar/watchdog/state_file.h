// The watchdog's durable state in STATE_DIR/watchdog.json: current term, vote in
// that term, the newest register copy and the incarnation of the sender's sequence
// numbers. Parse/Serialize are pure; Load/Save do the file I/O (Save is atomic:
// temp file, fsync, rename). A corrupt file is an error, never a silent reset:
// forgetting a vote could let this member vote twice in one term.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "sidecar/watchdog/election.h"

namespace pgvigil {
namespace watchdog {

struct StoredState {
  PersistentState election;
  uint32_t incarnation = 0;
};

std::string SerializeState(const StoredState& s);
Result<StoredState> ParseState(const std::string& text);

std::string StateFilePath(const std::string& state_dir);
// A missing file is a fresh member (all zero).
Result<StoredState> LoadState(const std::string& state_dir);
Status SaveState(const std::string& state_dir, const StoredState& s);

// The next incarnation: larger than the stored one and than the wall clock in
// seconds, so that a member whose state dir was wiped still starts above any
// sequence its peers remember.
uint32_t NextIncarnation(uint32_t stored, uint64_t unix_seconds);

}  // namespace watchdog
}  // namespace pgvigil
