// Pure logic of the e2e tools (no I/O, no clocks): write-gap tracking for
// pgvigil-e2e-writer, acknowledged-row loss, and the split-brain / VIP checks of
// pgvigil-e2e-primary-checker. Unit-tested in e2e_logic_test.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pgvigil::e2e {

// ---- writer: gaps between acknowledged writes ---------------------------------

struct Gap {
  int64_t startMs = 0;  // wall time of the last ack before the gap (ms since epoch)
  int64_t endMs = 0;    // wall time of the first ack after it
  int64_t lengthMs() const { return endMs - startMs; }
};

// Feed ack times in order; keeps every gap longer than the threshold and the longest.
class GapTracker {
 public:
  explicit GapTracker(int64_t thresholdMs) : threshold_(thresholdMs) {}
  void Ack(int64_t wallMs);
  const std::vector<Gap>& gaps() const { return gaps_; }  // > threshold, in order
  std::optional<Gap> longest() const { return longest_; }
  std::optional<int64_t> firstAckMs() const { return first_; }
  std::optional<int64_t> lastAckMs() const { return last_; }

 private:
  int64_t threshold_;
  std::optional<int64_t> first_, last_;
  std::optional<Gap> longest_;
  std::vector<Gap> gaps_;
};

// ---- writer --verify: acknowledged rows missing on the primary ------------------

struct AckRecord {
  int64_t id = 0;
  int64_t sentMs = 0;
  int64_t ackMs = 0;
};

// Parses one line of the ack file: "ID SENT_MS ACK_MS" (or just "ID"). False on garbage.
bool ParseAckLine(const std::string& line, AckRecord* out);

struct IdRange {
  int64_t first = 0, last = 0;
  int64_t firstAckMs = 0, lastAckMs = 0;  // ack times of the first/last id in the range
};

struct LossReport {
  int64_t acked = 0;
  int64_t lost = 0;                  // acked but absent
  int64_t unackedPresent = 0;        // present, never acked (commit outcome unknown to the client)
  std::vector<IdRange> lostRanges;   // consecutive acked-but-absent ids (in ack order)
};

// acks in the order written; present: ids found on the primary.
LossReport ComputeLoss(const std::vector<AckRecord>& acks, const std::set<int64_t>& present);

// The first ack at or after a moment (ms since epoch), or nothing.
std::optional<AckRecord> FirstAckAfter(const std::vector<AckRecord>& acks, int64_t momentMs);

// ---- primary checker -------------------------------------------------------------

// "name=host:pgport[:restport]" (restport default 9898).
struct NodeAddr {
  std::string name, host;
  int pgPort = 5432;
  int restPort = 9898;
};
bool ParseNodeArg(const std::string& arg, NodeAddr* out, std::string* err);

enum class Tri { kUnknown, kYes, kNo };

// One node's latest observations, as the checker's evaluator sees them.
struct NodeView {
  std::string name;
  Tri writable = Tri::kUnknown;   // pg_is_in_recovery() = false (kYes) / true (kNo) / unreachable
  int64_t pgObsId = 0;            // increases with every completed PostgreSQL probe
  int64_t pgAtMs = 0;             // when that probe answered
  bool proxyReachable = false;    // the sidecar answered GET /v1/proxy/routing
  std::string routedPrimary;      // the node its proxy sends writes to ("" = none, fails closed)
  std::string tablePrimary;       // the primary of its routing table (display only)
  int64_t generation = -1;
  int64_t routingObsId = 0;
};

struct Snapshot {
  int64_t atMs = 0;
  std::vector<NodeView> nodes;
};

// The nodes that are writable AND named primary by at least one reachable proxy, when
// there are two or more of them (a split brain visible to clients); else empty.
std::vector<std::string> RoutedWritablePrimaries(const Snapshot& s);
// Writable nodes (reachable directly, not in recovery), whatever the routing says.
std::vector<std::string> WritableNodes(const Snapshot& s);

// Episodes of a condition over consecutive snapshots. A hit is "confirmed" once it held
// in two consecutive snapshots in which every involved node had been probed anew (so
// each was seen writable at two instants around the other's; a single snapshot can mix
// a node's last answer before a clean stop with another's first after a promote).
struct Episode {
  std::vector<std::string> nodes;
  int64_t firstMs = 0, lastMs = 0;
  int samples = 0;
  bool confirmed = false;
};

class SplitBrainDetector {
 public:
  // Returns true when this snapshot starts or extends an episode.
  bool Feed(const Snapshot& s);
  void Finish();  // closes the open episode
  const std::vector<Episode>& episodes() const { return episodes_; }
  int confirmedCount() const;

 private:
  std::optional<Episode> open_;
  std::vector<int64_t> lastObsIds_;  // pg obs ids of the open episode's nodes at the last hit
  std::vector<Episode> episodes_;
};

// VIP: holders seen in one listing; two or more is a violation on its own.
class VipDetector {
 public:
  bool Feed(int64_t atMs, const std::vector<std::string>& holders);
  void Finish();
  const std::vector<Episode>& episodes() const { return episodes_; }
  int64_t samples() const { return samples_; }

 private:
  std::optional<Episode> open_;
  std::vector<Episode> episodes_;
  int64_t samples_ = 0;
};

std::string FormatMs(int64_t wallMs);  // "2026-11-25T23:17:57.502Z"
std::string Join(const std::vector<std::string>& v, const std::string& sep);

}  // namespace pgvigil::e2e
