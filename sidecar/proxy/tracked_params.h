// Transaction pooling: the parameters PostgreSQL reports (ParameterStatus)
// that follow a client from backend to backend, as PgBouncer keeps them
// (client_encoding, DateStyle, TimeZone, standard_conforming_strings,
// application_name). A client may SET them in transaction mode; the proxy
// records the values the backends report, per client and per backend, and
// sets a backend to its client's values before the client's statement runs
// there. Pure: no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgvigil::proxy {

inline constexpr size_t kTrackedParameters = 5;
// In the order a backend is set to a client's values: client_encoding first,
// so that the values after it are read in the client's encoding.
inline constexpr std::array<std::string_view, kTrackedParameters> kTrackedParameterNames = {
    "client_encoding", "DateStyle", "TimeZone", "standard_conforming_strings", "application_name"};

// The index of a tracked parameter (its name compared as PostgreSQL does,
// without regard to case), -1 for any other.
int TrackedParameterIndex(std::string_view name);

// The last values reported of the tracked parameters (by a backend, or to a client).
struct TrackedValues {
  std::array<std::string, kTrackedParameters> value;
  std::array<bool, kTrackedParameters> known{};
  // Records a ParameterStatus; true when it changed what was known.
  bool Note(std::string_view name, std::string_view v);
  void NoteAll(const std::vector<std::pair<std::string, std::string>>& reported) {
    for (const auto& [k, v] : reported) Note(k, v);
  }
};

// The SET statements that bring `backend` to `client`'s values (one per
// parameter whose value the client knows and the backend reports otherwise,
// in kTrackedParameterNames order), each a query text. Values are written as
// E'' literals, read the same whatever standard_conforming_strings says.
std::vector<std::string> TrackedParameterSets(const TrackedValues& client, const TrackedValues& backend);

}  // namespace pgvigil::proxy
