#include "sidecar/watchdog/sim_cluster.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace pgvigil {
namespace watchdog {
namespace {

std::set<std::string> Ids(const std::string& doc) {
  std::set<std::string> ids;
  std::stringstream ss(doc);
  std::string id;
  while (std::getline(ss, id, ',')) if (!id.empty()) ids.insert(id);
  return ids;
}

constexpr int64_t kMaxTickJitterUs = 10000;  // scheduling delay of a tick, well under M / 2

}  // namespace

SimCluster::SimCluster(int members, uint64_t seed, int64_t interval_ms, int64_t dead_ms)
    : SimCluster(members, members, seed, interval_ms, dead_ms) {}

SimCluster::SimCluster(int capacity, int initial, uint64_t seed, int64_t interval_ms, int64_t dead_ms)
    : rng_(seed), intervalMs_(interval_ms), deadMs_(dead_ms), members_(capacity),
      link_(capacity, std::vector<bool>(capacity, true)) {
  std::uniform_real_distribution<double> offset(0, 1e6);
  for (int m = 0; m < capacity; ++m) {
    members_[m].offsetMs = offset(rng_);
    members_[m].alive = false;
    members_[m].list = initial;
    if (m < initial) Restart(m);
  }
}

void SimCluster::SetListSize(int m, int count) {
  Member& mb = members_[m];
  mb.list = count;
  if (!mb.alive) return;
  Actions out;
  mb.e->SetMembers(count, LocalMs(m), &out);
  Apply(m, out);
  Check(m);
}

int64_t SimCluster::LocalMs(int m) const {
  return static_cast<int64_t>(std::floor(members_[m].offsetMs + members_[m].rate * now_ / 1000.0));
}

void SimCluster::Push(Ev e) {
  e.order = order_++;
  queue_.push(std::move(e));
}

void SimCluster::ScheduleTick(int m) {
  const Member& mb = members_[m];
  ElectionConfig cfg = mb.e->config();
  std::uniform_int_distribution<int64_t> jitter(0, kMaxTickJitterUs);
  Ev e;
  e.at = now_ + static_cast<int64_t>(cfg.TickMs() * 1000 / mb.rate) + jitter(rng_);
  e.kind = 0;
  e.member = m;
  e.incarnation = mb.incarnation;
  Push(std::move(e));
}

void SimCluster::SetLink(int from, int to, bool up) {
  Check(-1);
  link_[from][to] = up;
}

void SimCluster::HealAll() {
  Check(-1);
  for (auto& row : link_) std::fill(row.begin(), row.end(), true);
}

void SimCluster::Partition(const std::set<int>& group) {
  Check(-1);
  for (int a = 0; a < members(); ++a)
    for (int b = 0; b < members(); ++b)
      if (group.count(a) != group.count(b)) link_[a][b] = false;
}

void SimCluster::Crash(int m) {
  Member& mb = members_[m];
  if (!mb.alive) return;
  mb.alive = false;
  mb.vip = false;  // the host went down with its addresses
  mb.e.reset();
  ++mb.incarnation;
}

void SimCluster::Resign(int m) {
  Member& mb = members_[m];
  if (!mb.alive) return;
  Actions out;
  mb.e->Resign(LocalMs(m), &out);
  Apply(m, out);
  Check(m);
  Crash(m);
}

void SimCluster::Restart(int m) {
  Member& mb = members_[m];
  if (mb.alive) return;
  ElectionConfig cfg;
  cfg.self = m;
  cfg.members = mb.list;
  cfg.heartbeatIntervalMs = intervalMs_;
  cfg.deadTimeMs = deadMs_;
  mb.e = std::make_unique<Election>(cfg, mb.stored, rng_(), LocalMs(m));
  mb.alive = true;
  ++mb.incarnation;
  ScheduleTick(m);
}

bool SimCluster::ConnectedToMajority(int m) const {
  if (!members_[m].alive) return false;
  const int list = members_[m].list;  // a majority of its own members
  int n = 0;
  for (int j = 0; j < list; ++j)
    if (members_[j].alive && (j == m || (link_[m][j] && link_[j][m]))) ++n;
  return n >= list / 2 + 1;
}

int SimCluster::VipHolder() const {
  for (int m = 0; m < members(); ++m)
    if (members_[m].vip) return m;
  return -1;
}

void SimCluster::Deliver(int from, int to, const WireMessage& msg) {
  if (!link_[from][to]) return;
  std::uniform_real_distribution<double> p(0, 1);
  std::uniform_int_distribution<int64_t> delay(net_.minDelayUs, net_.maxDelayUs);
  int copies = 1 + (p(rng_) < net_.duplicate ? 1 : 0);
  for (int i = 0; i < copies; ++i) {
    if (p(rng_) < net_.loss) continue;
    Ev e;
    e.at = now_ + delay(rng_);
    e.kind = 1;
    e.member = to;
    e.msg = msg;
    e.list = members_[from].list;
    Push(std::move(e));
  }
}

void SimCluster::Apply(int m, Actions& actions) {
  Member& mb = members_[m];
  for (Action& a : actions) {
    switch (a.kind) {
      case ActionKind::kSend:
        // A Resign goes out twice, as WatchdogService::Process sends it.
        for (int copy = a.message.kind == MessageKind::kResign ? 2 : 1; copy > 0; --copy)
          for (int to = 0; to < mb.list && to < members(); ++to)
            if (to != m && (a.to == -1 || a.to == to)) Deliver(m, to, a.message);
        break;
      case ActionKind::kPersist: mb.stored = a.persist; break;
      case ActionKind::kVipUp: mb.vip = true; break;
      case ActionKind::kVipDown: mb.vip = false; break;
      case ActionKind::kEvent:
        if (a.event == EventKind::kLeaseLost) ++mb.leasesLost;
        if (a.event == EventKind::kBecameLeader) {
          auto [it, fresh] = leaderOfTerm_.emplace(a.value, m);
          if (!fresh && it->second != m)
            Fail("two leaders in term " + std::to_string(a.value) + ": " +
                 std::to_string(it->second) + " and " + std::to_string(m));
          std::set<std::string> have = Ids(mb.e->reg().doc);
          for (const auto& id : durable_)
            if (!have.count(id))
              Fail("new leader " + std::to_string(m) + " lost durable write " + id);
        } else if (a.event == EventKind::kRegisterCommitted) {
          auto it = docs_.find({mb.e->term(), a.value});
          if (it == docs_.end()) {
            Fail("committed an unknown register version");
          } else {
            for (const auto& id : Ids(it->second)) durable_.insert(id);
          }
        }
        break;
    }
  }
  if (mb.e) {
    const RegisterCopy& r = mb.e->reg();
    auto [it, fresh] = docs_.emplace(std::make_pair(r.term, r.version), r.doc);
    if (!fresh && it->second != r.doc) Fail("two documents with one register tag");
  }
}

void SimCluster::SetRegisterWrites(int64_t every_us) {
  bool start = writeEveryUs_ == 0 && every_us > 0;
  writeEveryUs_ = every_us;
  if (start) {
    Ev w;
    w.at = now_ + every_us;
    w.kind = 2;
    Push(std::move(w));
  }
}

void SimCluster::WriteRegister() {
  for (int m = 0; m < members(); ++m) {
    Member& mb = members_[m];
    if (!mb.alive || !mb.e->HasLease(LocalMs(m))) continue;
    std::string id = "w" + std::to_string(nextWriteId_++);
    std::string doc = mb.e->reg().doc.empty() ? id : mb.e->reg().doc + "," + id;
    if (doc.size() > kMaxRegisterDoc) return;
    Actions out;
    if (mb.e->WriteRegister(doc, LocalMs(m), &out) != 0) Apply(m, out);
    return;
  }
}

void SimCluster::Fail(const std::string& what) {
  if (failure_.empty())
    failure_ = "t=" + std::to_string(now_ / 1000) + "ms: " + what;
}

void SimCluster::Check(int m_touched) {
  int holders = 0;
  const ElectionConfig cfg = [&] {
    ElectionConfig c;
    c.heartbeatIntervalMs = intervalMs_;
    c.deadTimeMs = deadMs_;
    return c;
  }();
  const double slow = 1 - ElectionConfig::kMaxClockRateError;
  const int64_t minority_bound_us = static_cast<int64_t>(
      (cfg.LeaseMs() + cfg.TickMs()) * 1000 / slow + kMaxTickJitterUs + 2 * net_.maxDelayUs);
  for (int m = 0; m < members(); ++m) {
    Member& mb = members_[m];
    if (ConnectedToMajority(m)) mb.lastMajorityUs = now_;
    if (!mb.vip) continue;
    ++holders;
    if (now_ - mb.lastMajorityUs > minority_bound_us)
      Fail("member " + std::to_string(m) + " holds the VIP " +
           std::to_string((now_ - mb.lastMajorityUs) / 1000) + "ms after losing its majority");
    if (!mb.e->vipHeld()) Fail("sim and machine disagree on the VIP");
  }
  if (holders > 1) Fail(std::to_string(holders) + " members hold the VIP at once");
  (void)m_touched;
}

void SimCluster::RunUntil(int64_t until_us) {
  while (!queue_.empty() && queue_.top().at <= until_us && failure_.empty()) {
    Ev e = queue_.top();
    queue_.pop();
    now_ = e.at;
    ++events_;
    if (e.kind == 2) {
      if (writeEveryUs_ > 0) {
        Ev w;
        w.at = e.at + writeEveryUs_;
        w.kind = 2;
        Push(std::move(w));
      }
      WriteRegister();
      Check(-1);
      continue;
    }
    Member& mb = members_[e.member];
    if (!mb.alive) continue;
    Actions out;
    if (e.kind == 0) {
      if (e.incarnation != mb.incarnation) continue;
      mb.e->OnTick(LocalMs(e.member), &out);
      ScheduleTick(e.member);
    } else {
      // The receiver's decoder (MembershipPrints): the sender's list at most one
      // member apart from the receiver's, and a sender it knows.
      const int b = mb.list;
      if (e.list - b > 1 || b - e.list > 1 || e.msg.from >= b) continue;
      mb.e->OnMessage(e.msg, LocalMs(e.member), &out);
    }
    Apply(e.member, out);
    Check(e.member);
  }
  if (failure_.empty()) now_ = std::max(now_, until_us);
}

}  // namespace watchdog
}  // namespace pgvigil
