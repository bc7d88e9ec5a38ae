// The cluster-state document: the controller's durable state as stored in the
// watchdog's cluster-state register (at most 1024 bytes there, hence the short
// keys), in the controller's state file, and mirrored to the register in
// Kubernetes mode. One contract for its two sides:
//  * the controller writes it and reads it back (controller/act/state_codec.cc
//    maps it to and from plan::ClusterState), strictly: a document of another
//    format or with a field of another type is refused, never half-read;
//  * every sidecar's proxy reads it in its write fence (sidecar/proxy/routing.h,
//    FenceFromClusterState): "rg", "rp" and "fe", tolerantly (common/json_fields.h),
//    and fails writes closed when those cannot be read.
//
// {"f": 1 (format), "v": version, "p": primary, "tl": timeline,
//  "rg": routing generation, "rp": routed primary ("" none), "rs": [routed standbys],
//  "rw": [their weights] (left out when none), "ss": [synchronous standbys],
//  "sc": synchronous count, "sl": sync shrink LSN, "fe": [fenced], "de": [detached],
//  "bo": switchover back-off until (ms),
//  "tr": {"k": kind 1 failover | 2 switchover, "fr": from, "to": to,
//         "st": step 0 fencing | 1 paused | 2 stopping | 3 promoting,
//         "at": started at (ms), "sl": stop LSN} (left out when no transition)}
// null: never written (an empty state). Pure; no state.
#pragma once

#include <cpprest/json.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace pgvigil {

constexpr int64_t kClusterStateFormat = 1;

// A failover or switchover under way ("tr").
struct ClusterStateTransitionDoc {
  int64_t kind = 0;        // "k": 1 failover, 2 switchover (0, none, reads as no "tr")
  std::string from;        // "fr": the old primary
  std::string to;          // "to": the node being promoted
  int64_t step = 0;        // "st": 0 fencing, 1 paused, 2 stopping, 3 promoting
  int64_t startedAt = 0;   // "at"
  uint64_t stopLsn = 0;    // "sl"
};

struct ClusterStateDoc {
  int64_t format = kClusterStateFormat;           // "f"
  uint64_t version = 0;                           // "v"
  std::string primary;                            // "p"
  uint64_t timeline = 0;                          // "tl"
  uint64_t routingGeneration = 0;                 // "rg"
  std::string routedPrimary;                      // "rp": "" writes fail closed
  std::vector<std::string> routedStandbys;        // "rs"
  std::vector<int> routedWeights;                 // "rw": left out when empty
  std::vector<std::string> synchronousStandbys;   // "ss"
  int64_t synchronousCount = 0;                   // "sc"
  uint64_t syncShrinkLsn = 0;                     // "sl"
  std::vector<std::string> fenced;                // "fe"
  std::vector<std::string> detached;              // "de"
  int64_t switchoverBackoffUntil = 0;             // "bo"
  std::optional<ClusterStateTransitionDoc> transition;  // "tr"
};

web::json::value ToJson(const ClusterStateDoc& d);

// The controller's reader. null decodes to the empty document. Refused, with the
// field at fault: not an object, "f" missing or not kClusterStateFormat, a field
// of another type (null included), a number that is no integer of the field's
// range, a transition kind outside 0..2 or step outside 0..3. A missing field is
// its default. A transition of kind 0 is no transition (what ToJson writes).
Result<ClusterStateDoc> ClusterStateDocFromJsonStrict(const web::json::value& v);

// The tolerant reader (common/json_fields.h): a missing or null field is its
// default, a field of another type (or a number out of its range) is its default
// and is named in `notes` ("rg: not an integer", "fe[1]: not a string; left
// out"). A body that is not an object reads as the empty document, noted. It does
// not check "f": the reader decides what another format means.
ClusterStateDoc ClusterStateDocFromJson(const web::json::value& v, std::vector<std::string>* notes = nullptr);

bool operator==(const ClusterStateTransitionDoc& a, const ClusterStateTransitionDoc& b);
bool operator==(const ClusterStateDoc& a, const ClusterStateDoc& b);

}  // namespace pgvigil
