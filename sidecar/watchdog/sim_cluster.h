// Test-only: a deterministic simulated network and clock for driving several
// Election state machines. Real time is simulated in microseconds; each member
// has its own clock running at a fixed rate within 1 +/- kMaxClockRateError.
// The network loses, duplicates, delays (and so reorders) datagrams and can cut
// any directed link. After every event the invariants are checked and the first
// violation is kept in failure().
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "sidecar/watchdog/election.h"

namespace pgvigil {
namespace watchdog {

struct SimNetwork {
  double loss = 0;         // probability a datagram is dropped
  double duplicate = 0;    // probability it is delivered twice
  int64_t minDelayUs = 100;
  int64_t maxDelayUs = 1000;
};

class SimCluster {
 public:
  SimCluster(int members, uint64_t seed, int64_t interval_ms = 500, int64_t dead_ms = 1500);
  // Membership changes: `capacity` member slots, the first `initial` started with
  // a list of `initial` members; the others start (Restart) with the list their
  // slot was given (SetListSize). Each member's list is a prefix of the same
  // names, so datagrams pass between lists at most one member apart (as the
  // wire's MembershipPrints decide) and never from a member the receiver does
  // not know; a member sends only to the members of its own list.
  SimCluster(int capacity, int initial, uint64_t seed, int64_t interval_ms = 500, int64_t dead_ms = 1500);
  // Member m's list becomes `count` members (Election::SetMembers when alive).
  void SetListSize(int m, int count);
  int listSize(int m) const { return members_[m].list; }

  // Advances simulated time to `until_us`, processing every event on the way.
  void RunUntil(int64_t until_us);
  int64_t now() const { return now_; }

  void SetNetwork(const SimNetwork& n) { net_ = n; }
  void SetLink(int from, int to, bool up);
  void HealAll();
  // Cuts every link between `group` and the rest, both ways.
  void Partition(const std::set<int>& group);
  void Crash(int m);
  void Restart(int m);
  void Resign(int m);  // clean stop (the member stays down until Restart)
  void SetClockRate(int m, double rate) { members_[m].rate = rate; }
  // The sim's register writer: every `every_us` the member holding the lease
  // appends a new id to the document. 0 disables.
  void SetRegisterWrites(int64_t every_us);

  int members() const { return static_cast<int>(members_.size()); }
  bool alive(int m) const { return members_[m].alive; }
  const Election* election(int m) const { return members_[m].e.get(); }
  int64_t LocalMs(int m) const;
  // The member currently holding the VIP, or -1.
  int VipHolder() const;
  // Is `m` alive and two-way connected to a majority (itself included) now?
  bool ConnectedToMajority(int m) const;

  const std::string& failure() const { return failure_; }
  uint64_t events() const { return events_; }
  size_t durableWrites() const { return durable_.size(); }
  size_t leadersElected() const { return leaderOfTerm_.size(); }
  // kLeaseLost events of member m so far.
  int leasesLost(int m) const { return members_[m].leasesLost; }

 private:
  struct Member {
    std::unique_ptr<Election> e;
    bool alive = true;
    double rate = 1.0;
    double offsetMs = 0;
    PersistentState stored;
    bool vip = false;
    int64_t lastMajorityUs = 0;
    uint64_t incarnation = 0;
    int list = 0;        // the size of its member list
    int leasesLost = 0;  // kLeaseLost events
  };
  struct Ev {
    int64_t at = 0;
    uint64_t order = 0;
    int kind = 0;  // 0 tick, 1 deliver, 2 register write
    int member = 0;
    uint64_t incarnation = 0;  // tick: the incarnation it belongs to
    WireMessage msg;
    int list = 0;              // deliver: the sender's list size when it sent
    bool operator>(const Ev& o) const { return at != o.at ? at > o.at : order > o.order; }
  };

  void Push(Ev e);
  void ScheduleTick(int m);
  void Apply(int m, Actions& actions);
  void Deliver(int from, int to, const WireMessage& msg);
  void Check(int m_touched);
  void Fail(const std::string& what);
  void WriteRegister();

  std::mt19937_64 rng_;
  int64_t intervalMs_, deadMs_;
  std::vector<Member> members_;
  std::vector<std::vector<bool>> link_;  // link_[from][to]
  SimNetwork net_;
  std::priority_queue<Ev, std::vector<Ev>, std::greater<Ev>> queue_;
  uint64_t order_ = 0;
  int64_t now_ = 0;
  uint64_t events_ = 0;
  int64_t writeEveryUs_ = 0;
  uint64_t nextWriteId_ = 1;
  std::string failure_;
  std::map<uint64_t, int> leaderOfTerm_;
  std::map<std::pair<uint64_t, uint64_t>, std::string> docs_;  // (term, version) -> doc
  std::set<std::string> durable_;  // ids of writes acknowledged durable
};

}  // namespace watchdog
}  // namespace pgvigil
