#include "controller/plan/lineage.h"

#include <cstdio>

namespace pgvigil::plan {

const char* ToString(Lineage l) {
  switch (l) {
    case Lineage::kCanFollow:
      return "can-follow";
    case Lineage::kDiverged:
      return "diverged";
    case Lineage::kUnknown:
      return "unknown";
  }
  return "?";
}

std::string FormatLsn(Lsn lsn) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32),
                static_cast<unsigned>(lsn & 0xffffffffu));
  return buf;
}

Lineage CheckLineage(uint32_t timeline, Lsn end, uint32_t primaryTimeline,
                     const std::vector<TimelineSwitch>& primaryHistory, std::string* why) {
  auto say = [why](std::string text) {
    if (why) *why = std::move(text);
  };
  if (timeline == primaryTimeline) {
    say("on the primary's timeline " + std::to_string(timeline));
    return Lineage::kCanFollow;
  }
  if (timeline > primaryTimeline) {
    say("on timeline " + std::to_string(timeline) + ", newer than the primary's " +
        std::to_string(primaryTimeline));
    return Lineage::kDiverged;
  }
  if (primaryHistory.empty()) {
    say("on timeline " + std::to_string(timeline) +
        " and the primary's timeline history is unknown");
    return Lineage::kUnknown;
  }
  for (const auto& sw : primaryHistory) {
    if (sw.timeline != timeline) continue;
    if (end <= sw.switchLsn) {
      say("timeline " + std::to_string(timeline) + " ends at " + FormatLsn(end) +
          ", not past the primary's switch point " + FormatLsn(sw.switchLsn));
      return Lineage::kCanFollow;
    }
    say("timeline " + std::to_string(timeline) + " reaches " + FormatLsn(end) +
        ", past the primary's switch point " + FormatLsn(sw.switchLsn));
    return Lineage::kDiverged;
  }
  say("timeline " + std::to_string(timeline) + " is not in the primary's history");
  return Lineage::kDiverged;
}

}  // namespace pgvigil::plan
