// The watchdog's datagram: one authenticated message kind set shared by
// heartbeats, lease rounds, votes and acks. Pure code (no sockets, no clocks):
// EncodeMessage / DecodeMessage turn a WireMessage into bytes and back, with an
// HMAC-SHA256 trailer over every preceding byte. A decode failure is a value
// (DropReason) and never throws; callers count and drop.
//
// Layout (big-endian), all fields always present except the register document:
//   magic "PVW3" | kind u8 | flags u8 | from u8 | fingerprint u32
//   | prefixFingerprint u32 | seq u64
//   | echo u64 | term u64 | state u8 | leader u8 (0xFF none) | round u64
//   | regTerm u64 | regVersion u64 | docLen u16 | doc bytes
//   | healthCount u8 | healthCount x (backend u8, status u8)
//   | HMAC-SHA256 (32 bytes)
// Version 2 added `echo` (PVW1 members and PVW2 members drop each other's
// datagrams as bad_magic: upgrade every member together). Version 3 added
// `prefixFingerprint`, so that a member one membership change behind or ahead
// is recognised (MembershipPrints below); again, upgrade every member together.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pgvigil {
namespace watchdog {

constexpr size_t kMaxDatagram = 1400;   // stays under a 1500-byte MTU
constexpr size_t kMaxRegisterDoc = 1024;
constexpr size_t kMacSize = 32;
constexpr uint8_t kNoMember = 0xFF;

enum class MessageKind : uint8_t {
  kHeartbeat = 1,    // periodic status; from the leader it is also a lease round
  kVoteRequest = 2,  // flags kPreVote: a pre-vote that changes nobody's term
  kVoteReply = 3,    // flags kGranted; carries the voter's stored register
  kAck = 4,          // reply to a leader round: round acked + register tag stored
  kResign = 5,       // the sender stops cleanly (a leader resigns at once; its
                     // `leader` then names the successor, election.h)
};

enum MessageFlags : uint8_t {
  kFlagPreVote = 1,
  kFlagGranted = 2,
  kFlagHasDoc = 4,  // the register document is carried
};

// State a member reports about itself.
enum class MemberState : uint8_t { kStandby = 0, kCandidate = 1, kLeader = 2, kShutdown = 3 };
const char* ToString(MemberState s);

enum class HealthStatus : uint8_t { kUnknown = 0, kUp = 1, kDown = 2 };

struct HealthVote {
  uint8_t backend = 0;  // index in spec.nodes
  HealthStatus status = HealthStatus::kUnknown;
  bool operator==(const HealthVote& o) const { return backend == o.backend && status == o.status; }
};

// A versioned copy of the cluster-state register, ordered by (term, version).
struct RegisterCopy {
  uint64_t term = 0;
  uint64_t version = 0;
  std::string doc;  // opaque JSON text, at most kMaxRegisterDoc bytes
  bool NewerThan(const RegisterCopy& o) const {
    return term != o.term ? term > o.term : version > o.version;
  }
  bool SameTag(const RegisterCopy& o) const { return term == o.term && version == o.version; }
};

struct WireMessage {
  MessageKind kind = MessageKind::kHeartbeat;
  uint8_t flags = 0;
  uint8_t from = 0;         // sender's index in spec.nodes
  uint32_t fingerprint = 0; // MembershipFingerprint of the sender's node list
  uint32_t prefixFingerprint = 0;  // ... of that list without its last member
  uint64_t seq = 0;         // (incarnation << 32) | counter, strictly increasing per sender
  // The newest seq the sender has received (authenticated) from the destination,
  // 0 when none. Its high 32 bits are the destination's incarnation as the sender
  // knows it: a datagram echoing an older incarnation of the receiver was made
  // before the receiver's restart (a replay) and is dropped (kOldIncarnation). The
  // whole value tells the destination which of its own datagrams got through (the
  // write lease, contact_lease.h). Set per destination by the caller.
  uint64_t echo = 0;
  uint64_t term = 0;
  MemberState state = MemberState::kStandby;
  uint8_t leader = kNoMember;  // who the sender follows (itself when leader); in a
                               // leader's kResign: the successor it hands over to
  uint64_t round = 0;       // heartbeat from leader: lease round; ack: round acked
  RegisterCopy reg;         // tag always; doc only with kFlagHasDoc
  std::vector<HealthVote> health;

  bool Has(MessageFlags f) const { return (flags & f) != 0; }
};

enum class DropReason {
  kNone = 0,
  kTooShort,
  kTooLong,
  kBadMagic,
  kBadMac,
  kMalformed,
  kUnknownMember,
  kMembershipMismatch,
  kReplayed,  // set by ReplayGuard, not by DecodeMessage
  kStale,     // set by ReplayGuard
  // The echo names another incarnation of the receiver: made before the receiver
  // restarted (a replay), or by a sender that has not heard the receiver's new
  // incarnation yet (one exchange after a restart). Set by ContactTracker.
  kOldIncarnation,
};
const char* ToString(DropReason r);  // "bad_mac", ... (metric label values)

// FNV-1a over the member names in order; all members must agree on it.
uint32_t MembershipFingerprint(const std::vector<std::string>& names);

// A member list as datagrams identify it: its size, its fingerprint and the
// fingerprint of the list without its last member (the list before that member
// joined). Membership changes one member at a time, at the end of the list
// (sidecar/agent/spec_update.h), and reach the members one after another, so
// for a while a member may hear from members whose list is one longer or one
// shorter than its own. Indexes agree (the shorter list is a prefix of the
// longer), and majorities of N and N+1 overlap (watchdog README, "Membership
// changes"), so such datagrams are taken; each member counts majorities by its
// own list.
struct MembershipPrints {
  size_t count = 0;
  uint32_t full = 0;
  uint32_t prefix = 0;
};
MembershipPrints PrintsOf(const std::vector<std::string>& names);

enum class MembershipRelation {
  kSame,           // the sender's list is ours
  kSenderShorter,  // ours without our last member (it has not heard of that one yet, or already forgot it)
  kSenderLonger,   // ours plus one member at the end
  kOther,          // anything else: the datagram is dropped (membership_mismatch)
};
// Pure: what the sender's (fingerprint, prefixFingerprint) say about its list.
MembershipRelation CompareMembership(const MembershipPrints& mine, uint32_t sender_full, uint32_t sender_prefix);
const char* ToString(MembershipRelation r);

// Fails (returns empty) only when the message cannot fit: doc too long, too many
// health entries. The key may be any length.
std::vector<uint8_t> EncodeMessage(const WireMessage& m, const std::string& key);

struct DecodeResult {
  DropReason error = DropReason::kNone;
  WireMessage message;
  bool ok() const { return error == DropReason::kNone; }
};

// Verifies the MAC before reading any field; then checks the sender (and leader)
// index against our list's size, and the sender's list against ours
// (CompareMembership: kOther is kMembershipMismatch).
DecodeResult DecodeMessage(const uint8_t* data, size_t size, const std::string& key,
                           const MembershipPrints& mine);
// Only the very same list (count members with this fingerprint) is taken.
DecodeResult DecodeMessage(const uint8_t* data, size_t size, const std::string& key,
                           size_t member_count, uint32_t fingerprint);

}  // namespace watchdog
}  // namespace pgvigil
