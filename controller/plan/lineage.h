// Timeline/LSN reasoning: can a node stream from the primary as it is, or has
// its history forked off (and must be rewound or rebuilt)? Pure.
#pragma once

#include <string>
#include <vector>

#include "controller/plan/observation.h"

namespace pgvigil::plan {

enum class Lineage {
  kCanFollow,  // the node's history is a prefix of the primary's
  kDiverged,   // it went past the point where the primary's timeline forked off
  kUnknown,    // not enough information (no timeline history for the primary)
};
const char* ToString(Lineage l);

// A node on timeline `timeline` whose history ends at `end` (a standby's replay
// position, an old primary's last LSN), against a primary on
// `primaryTimeline` with timeline history `primaryHistory`:
//  * same timeline: can follow;
//  * a newer timeline than the primary's: diverged;
//  * an older one: can follow only when the primary's history has that timeline
//    and `end` is not beyond its switch point; past it (or not in the history
//    at all): diverged; no history known: unknown.
// `why` (optional) receives a one-line explanation.
Lineage CheckLineage(uint32_t timeline, Lsn end, uint32_t primaryTimeline,
                     const std::vector<TimelineSwitch>& primaryHistory, std::string* why);

std::string FormatLsn(Lsn lsn);  // "0/3000060" like PostgreSQL

}  // namespace pgvigil::plan
