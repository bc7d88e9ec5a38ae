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
#include <unordered_map>
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

// Numbers for the sets of values clients hold (transaction pooling). Equal
// values (and the same parameters known) get the same number, so a backend
// left at one client's values is known to hold another's equal values with no
// comparison; any difference gets another number. A number is never given to
// two different sets: past kMaxEntries the table forgets every set it knew
// and numbers on from where it was (a forgotten set costs one comparison of
// the values when it is next met).
class TrackedValuesIds {
 public:
  static constexpr size_t kMaxEntries = 1024;
  // Never 0 (a backend's "not known").
  uint64_t IdOf(const TrackedValues& v);
  size_t size() const { return ids_.size(); }

 private:
  std::unordered_map<std::string, uint64_t> ids_;
  uint64_t last_ = 0;
};

// The SET statements that bring `backend` to `client`'s values (one per
// parameter whose value the client knows and the backend reports otherwise,
// in kTrackedParameterNames order), each a query text. Values are written as
// E'' literals, read the same whatever standard_conforming_strings says.
std::vector<std::string> TrackedParameterSets(const TrackedValues& client, const TrackedValues& backend);

}  // namespace pgvigil::proxy
