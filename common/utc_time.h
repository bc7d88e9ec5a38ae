// Wall-clock times as the REST documents write them: ISO-8601 UTC to the
// second ("2026-12-06T17:00:00Z"). Pure.
#pragma once

#include <chrono>
#include <string>

namespace pgvigil {

// "" for the epoch (a time point never set: "never", "not yet").
std::string IsoTime(std::chrono::system_clock::time_point t);

}  // namespace pgvigil
