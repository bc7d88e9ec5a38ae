// When a member whose sidecar answered a spec push `failed` (its
// postgres.parameters did not take: the reload failed or PostgreSQL refused a
// setting, common/node_spec_push.h) is sent the same push again: 10 s after
// the first failure, then twice as long after each further one, at most
// 5 minutes apart. Pure.
#pragma once

#include <algorithm>
#include <chrono>

namespace pgvigil::kube {

inline std::chrono::seconds SpecRetryDelay(int failures) {
  constexpr std::chrono::seconds kFirst{10}, kMost{300};
  std::chrono::seconds d = kFirst;
  for (int i = 1; i < failures && d < kMost; ++i) d *= 2;
  return std::min(d, kMost);
}

}  // namespace pgvigil::kube
