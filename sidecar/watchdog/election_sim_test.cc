// Deterministic simulation of the election and lease under hostile networks.
// Each seed builds a random schedule of phases (loss, duplication, delay and so
// reordering, partitions of every kind, crashes and restarts, clean stops) over
// 3 or 5 members whose clocks run at rates within the bound the protocol assumes.
// SimCluster checks after every event: at most one leader per term, never two
// VIP holders at one instant, no VIP held by a member cut off from a majority
// past its lease, no durable register write missing from a new leader's copy.
// Phases that leave a majority connected over a clean network also check that
// a leader holds the VIP within kElectionBound.
//
// WATCHDOG_SIM_RUNS=N runs N seeds (default 2000, about 6 s; 10000 take about 30 s),
// WATCHDOG_SIM_SEED=S starts at seed S (to replay a failure).
#include <algorithm>
#include <cstdlib>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "sidecar/watchdog/sim_cluster.h"

namespace pgvigil {
namespace watchdog {
namespace {

constexpr int64_t kMs = 1000;
// From the moment a majority is connected over a clean network, a leader holds
// the VIP within: the last promise running out on a slow clock (P / (1 - rho)),
// the election jitter (interval / 2), a pre-vote / vote / lease exchange, and one
// retry after a split vote or a disrupting higher term (P + 2 x interval).
// With the defaults: 1531 + 250 + ~10 + 1500 + 1000 ~= 4.3 s; we assert 5 s.
constexpr int64_t kElectionBoundMs = 5000;

struct Phase {
  std::string what;
  bool checkElection = false;
  std::set<int> majority;  // members expected to elect when checkElection
};

int RunsFromEnv() {
  const char* v = std::getenv("WATCHDOG_SIM_RUNS");
  return v ? std::atoi(v) : 2000;
}

// Returns "" or the first failure, with the schedule that led to it.
std::string RunSeed(uint64_t seed, uint64_t* events) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  const int n = chance(0.7) ? 3 : 5;
  const int majority = n / 2 + 1;
  SimCluster c(n, seed * 7919 + 1);
  const double rho = ElectionConfig::kMaxClockRateError;
  for (int m = 0; m < n; ++m) {
    double r = pick(3) == 0 ? 1 - rho : pick(2) == 0 ? 1 + rho
                                                     : std::uniform_real_distribution<double>(1 - rho, 1 + rho)(rng);
    c.SetClockRate(m, r);
  }
  c.SetRegisterWrites(chance(0.5) ? 150 * kMs : 400 * kMs);
  std::ostringstream log;
  log << "seed " << seed << " members " << n << ":";
  std::set<int> down;  // crashed or stopped members
  const int phases = 6 + pick(5);
  for (int i = 0; i < phases && c.failure().empty(); ++i) {
    const int64_t start = c.now();
    c.HealAll();
    SimNetwork net;
    Phase ph;
    // Restart some of the stopped members.
    for (auto it = down.begin(); it != down.end();) {
      if (chance(0.6)) {
        c.Restart(*it);
        it = down.erase(it);
      } else {
        ++it;
      }
    }
    int kind = i == phases - 1 ? 0 : pick(10);
    int leader = -1;
    for (int m = 0; m < n; ++m)
      if (c.alive(m) && c.election(m)->state() == MemberState::kLeader) leader = m;
    std::set<int> alive;
    for (int m = 0; m < n; ++m)
      if (c.alive(m)) alive.insert(m);
    switch (kind) {
      case 0:  // calm: everyone back, clean network
        for (int m : down) c.Restart(m);
        down.clear();
        ph.what = "calm";
        ph.checkElection = true;
        for (int m = 0; m < n; ++m) ph.majority.insert(m);
        break;
      case 1: {  // lossy, duplicating, reordering network
        net.loss = std::vector<double>{0.1, 0.3, 0.6}[pick(3)];
        net.duplicate = 0.2;
        net.maxDelayUs = std::vector<int64_t>{5, 50, 400}[pick(3)] * kMs;
        ph.what = "lossy";
        break;
      }
      case 2: case 3: {  // a minority cut off; the majority side must elect
        std::set<int> minority;
        int size = 1 + pick(n - majority);
        if (kind == 3 && leader >= 0) minority.insert(leader);
        while (static_cast<int>(minority.size()) < size) minority.insert(pick(n));
        c.Partition(minority);
        ph.what = kind == 3 ? "leader isolated" : "minority isolated";
        for (int m = 0; m < n; ++m)
          if (!minority.count(m)) ph.majority.insert(m);
        ph.checkElection = down.empty() && chance(0.7);
        if (!ph.checkElection) net.maxDelayUs = 30 * kMs;
        break;
      }
      case 4: {  // one-way links
        int cuts = 1 + pick(n);
        for (int k = 0; k < cuts; ++k) {
          int a = pick(n), b = pick(n);
          if (a != b) c.SetLink(a, b, false);
        }
        if (leader >= 0 && chance(0.5))
          for (int m = 0; m < n; ++m)
            if (m != leader) c.SetLink(m, leader, false);  // leader hears nobody
        ph.what = "one-way";
        break;
      }
      case 5: {  // split with no majority anywhere (even group sizes) or random links
        for (int a = 0; a < n; ++a)
          for (int b = 0; b < n; ++b)
            if (a != b && chance(0.4)) c.SetLink(a, b, false);
        net.loss = 0.2;
        ph.what = "random links";
        break;
      }
      case 6: {  // crash some members (often the leader)
        int victim = leader >= 0 && chance(0.6) ? leader : pick(n);
        if ((int)down.size() + 1 <= n - majority || chance(0.2)) {
          c.Crash(victim);
          down.insert(victim);
        }
        ph.what = "crash " + std::to_string(victim);
        ph.checkElection = static_cast<int>(n - down.size()) >= majority && chance(0.5);
        for (int m = 0; m < n; ++m)
          if (!down.count(m)) ph.majority.insert(m);
        break;
      }
      case 7: {  // clean stop of the leader
        if (leader >= 0 && static_cast<int>(down.size()) + 1 <= n - majority) {
          c.Resign(leader);
          down.insert(leader);
        }
        ph.what = "stop leader";
        ph.checkElection = static_cast<int>(n - down.size()) >= majority;
        for (int m = 0; m < n; ++m)
          if (!down.count(m)) ph.majority.insert(m);
        break;
      }
      case 8: {  // one member loses only the leader, another restarts at once
        ph.what = "cut from leader + bounce";
        if (leader < 0) break;
        int cut = (leader + 1 + pick(n - 1)) % n;
        int bounce = (leader + 1 + pick(n - 1)) % n;
        c.SetLink(leader, cut, false);
        c.SetLink(cut, leader, false);
        c.SetNetwork(net);
        c.RunUntil(start + (1000 + pick(1000)) * kMs);
        if (bounce != cut && !down.count(bounce)) {
          c.Crash(bounce);
          c.RunUntil(c.now() + pick(30) * kMs);
          c.Restart(bounce);
        }
        break;
      }
      default: {  // crash and restart mid-phase while the network delays
        net.maxDelayUs = 100 * kMs;
        int victim = pick(n);
        if (!down.count(victim)) {
          c.SetNetwork(net);
          c.RunUntil(start + (200 + pick(2000)) * kMs);
          c.Crash(victim);
          c.RunUntil(c.now() + pick(3000) * kMs);
          c.Restart(victim);
        }
        ph.what = "bounce " + std::to_string(victim);
        break;
      }
    }
    c.SetNetwork(net);
    log << " [" << ph.what << "]";
    if (ph.checkElection) {
      // The bound starts now; then the phase continues a little.
      const int64_t t0 = c.now();
      int64_t elected_at = -1;
      while (c.now() < t0 + kElectionBoundMs * kMs && c.failure().empty()) {
        c.RunUntil(c.now() + 50 * kMs);
        int h = c.VipHolder();
        if (h >= 0 && ph.majority.count(h)) {
          elected_at = c.now();
          break;
        }
      }
      if (c.failure().empty() && elected_at < 0) {
        return log.str() + ": no leader with the VIP " + std::to_string(kElectionBoundMs) +
               "ms after a majority was connected";
      }
      c.RunUntil(c.now() + (500 + pick(2000)) * kMs);
    } else {
      c.RunUntil(c.now() + (1000 + pick(5000)) * kMs);
    }
  }
  *events += c.events();
  if (!c.failure().empty()) return log.str() + ": " + c.failure();
  return "";
}

TEST(ElectionSim, InvariantsHoldUnderEveryFaultMix) {
  const int runs = RunsFromEnv();
  const uint64_t base = std::getenv("WATCHDOG_SIM_SEED") ? std::strtoull(std::getenv("WATCHDOG_SIM_SEED"), nullptr, 10) : 1;
  uint64_t events = 0;
  int failures = 0;
  for (int i = 0; i < runs; ++i) {
    std::string f = RunSeed(base + i, &events);
    if (!f.empty()) {
      ADD_FAILURE() << f;
      if (++failures >= 5) break;
    }
  }
  std::printf("%d seeded runs, %llu events\n", runs, static_cast<unsigned long long>(events));
}

}  // namespace
}  // namespace watchdog
}  // namespace pgvigil

namespace pgvigil {
namespace watchdog {
namespace {

// Benchmark, not a check: WATCHDOG_SOAK_MINUTES=10 runs that many simulated minutes
// of 3 members with 20% datagram loss and 0-200 ms delay (default timings) and
// prints the leader changes and the time without a VIP holder (bench/ runs it).
TEST(ElectionSim, SoakWithLossAndJitter) {
  const char* env = std::getenv("WATCHDOG_SOAK_MINUTES");
  if (!env) GTEST_SKIP() << "set WATCHDOG_SOAK_MINUTES to run";
  const int64_t minutes = std::atoi(env);
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SimCluster c(3, seed);
    c.SetClockRate(0, 1 - ElectionConfig::kMaxClockRateError);
    c.SetClockRate(2, 1 + ElectionConfig::kMaxClockRateError);
    c.RunUntil(5000 * kMs);
    ASSERT_GE(c.VipHolder(), 0);
    const size_t leaders_before = c.leadersElected();
    SimNetwork net;
    net.loss = 0.2;
    net.minDelayUs = 0;
    net.maxDelayUs = 200 * kMs;
    c.SetNetwork(net);
    int64_t without_vip_us = 0;
    const int64_t end = c.now() + minutes * 60 * 1000 * kMs;
    while (c.now() < end && c.failure().empty()) {
      c.RunUntil(c.now() + 10 * kMs);
      if (c.VipHolder() < 0) without_vip_us += 10 * kMs;
    }
    ASSERT_EQ(c.failure(), "");
    std::printf("soak seed %llu: %lld simulated minutes, 20%% loss, 0-200 ms delay: %zu new "
                "leader(s), %lld ms without a VIP holder\n",
                static_cast<unsigned long long>(seed), static_cast<long long>(minutes),
                c.leadersElected() - leaders_before, static_cast<long long>(without_vip_us / 1000));
  }
}

// Scale 3 -> 4 -> 5 -> 4 -> 3 as KUBERNETES.md §4.4 does it: each change of the
// member list reaches the members one after another, in a random order, with
// random gaps up to 1.5 s (longer than the lease); the new member starts once
// every old one has the longer list, a leaving member resigns once every other
// has the shorter one. Every invariant of the soak holds (one leader per term,
// one VIP holder, no durable write lost), and over a clean network the leader
// of the start keeps its lease through all of it (KUBERNETES.md §10, open
// question 2) and the cluster ends with a leader.
std::string RunMembershipSeed(uint64_t seed, double loss, bool expect_lease_kept) {
  std::mt19937_64 rng(seed);
  SimCluster c(5, 3, seed * 104729 + 7);
  const double rho = ElectionConfig::kMaxClockRateError;
  for (int m = 0; m < 5; ++m) c.SetClockRate(m, std::uniform_real_distribution<double>(1 - rho, 1 + rho)(rng));
  SimNetwork net;
  net.loss = loss;
  c.SetNetwork(net);
  c.SetRegisterWrites(150 * kMs);
  std::ostringstream log;
  log << "seed " << seed << " loss " << loss << ":";
  c.RunUntil(8000 * kMs);
  if (!c.failure().empty()) return log.str() + " " + c.failure();
  const int leader = c.VipHolder();
  if (expect_lease_kept && leader < 0) return log.str() + " no leader after 8 s";
  const int lost_before = leader >= 0 ? c.leasesLost(leader) : 0;
  auto change = [&](int from, int to) {
    std::vector<int> order;
    for (int m = 0; m < std::min(from, to); ++m) order.push_back(m);
    std::shuffle(order.begin(), order.end(), rng);
    log << " " << from << "->" << to << " [";
    if (to > from) c.SetListSize(to - 1, to);  // the new member's slot (it is started below)
    for (int m : order) {
      c.SetListSize(m, to);
      const int64_t gap = std::uniform_int_distribution<int64_t>(0, 1500)(rng);
      log << m << "+" << gap << "ms ";
      c.RunUntil(c.now() + gap * kMs);
    }
    log << "]";
    if (to > from) {
      c.Restart(to - 1);
    } else {
      c.Resign(from - 1);
    }
    c.RunUntil(c.now() + 4000 * kMs);
  };
  change(3, 4);
  change(4, 5);
  change(5, 4);
  change(4, 3);
  c.RunUntil(c.now() + 3000 * kMs);
  if (!c.failure().empty()) return log.str() + " " + c.failure();
  if (expect_lease_kept) {
    if (c.leasesLost(leader) != lost_before)
      return log.str() + " the leader " + std::to_string(leader) + " lost its lease during the changes";
    if (c.VipHolder() != leader) return log.str() + " the leader changed to " + std::to_string(c.VipHolder());
  }
  if (c.VipHolder() < 0 || c.VipHolder() > 2) return log.str() + " no leader among the 3 members at the end";
  return "";
}

TEST(ElectionSim, MembershipChangesOneAtATimeKeepTheLease) {
  const int runs = std::max(20, RunsFromEnv() / 20);
  for (int i = 0; i < runs; ++i) {
    std::string f = RunMembershipSeed(static_cast<uint64_t>(i), 0, true);
    ASSERT_EQ(f, "") << f;
  }
}

TEST(ElectionSim, MembershipChangesUnderLossKeepTheInvariants) {
  const int runs = std::max(20, RunsFromEnv() / 20);
  for (int i = 0; i < runs; ++i) {
    std::string f = RunMembershipSeed(static_cast<uint64_t>(1000 + i), 0.1, false);
    ASSERT_EQ(f, "") << f;
  }
}

// A clean stop of the leader (issue 11, rolling updates): the successor it names
// holds the VIP within one round, and no live member is ever without a leader it
// follows meanwhile (its proxy would refuse writes). Under datagram loss and
// duplication the invariants hold (SimCluster checks every event: one leader per
// term, never two VIP holders) and a leader follows within the crash bound.
struct HandoverResult {
  std::string failure;
  int64_t tookMs = -1;     // resign -> every live member follows a new VIP holder
  bool leaderless = false;  // some live member followed nobody on the way
};

HandoverResult RunHandover(uint64_t seed, int n, double loss, double duplicate) {
  HandoverResult r;
  SimCluster c(n, seed);
  std::mt19937_64 rng(seed);
  const double rho = ElectionConfig::kMaxClockRateError;
  for (int m = 0; m < n; ++m) c.SetClockRate(m, std::uniform_real_distribution<double>(1 - rho, 1 + rho)(rng));
  c.SetRegisterWrites(150 * kMs);
  c.RunUntil(5000 * kMs);
  const int old = c.VipHolder();
  if (!c.failure().empty() || old < 0) {
    r.failure = "seed " + std::to_string(seed) + ": no leader before the stop " + c.failure();
    return r;
  }
  SimNetwork net;
  net.loss = loss;
  net.duplicate = duplicate;
  c.SetNetwork(net);
  c.RunUntil(c.now() + std::uniform_int_distribution<int64_t>(0, 100)(rng) * kMs);  // mid-round
  const int64_t t0 = c.now();
  c.Resign(old);
  while (c.now() < t0 + kElectionBoundMs * kMs && c.failure().empty()) {
    c.RunUntil(c.now() + kMs);
    const int h = c.VipHolder();
    bool all_follow = h >= 0 && h != old;
    for (int m = 0; m < n; ++m) {
      if (!c.alive(m)) continue;
      const int l = c.election(m)->leader(c.LocalMs(m));
      if (l < 0) r.leaderless = true;
      if (l != h) all_follow = false;
    }
    if (all_follow) {
      r.tookMs = (c.now() - t0) / kMs;
      break;
    }
  }
  c.RunUntil(c.now() + 2000 * kMs);  // and the invariants hold a while longer
  if (!c.failure().empty()) r.failure = "seed " + std::to_string(seed) + ": " + c.failure();
  else if (r.tookMs < 0)
    r.failure = "seed " + std::to_string(seed) + ": no new leader followed by all " +
                std::to_string(kElectionBoundMs) + " ms after the clean stop";
  return r;
}

TEST(ElectionSim, ACleanStopOfTheLeaderHandsOverWithinARoundAndNoMemberIsLeaderless) {
  const int runs = std::max(100, RunsFromEnv() / 10);
  const int64_t round_ms = ElectionConfig{}.RoundMs();
  int64_t worst = 0;
  for (int i = 0; i < runs; ++i) {
    HandoverResult r = RunHandover(static_cast<uint64_t>(7000 + i), i % 2 ? 5 : 3, 0, 0);
    ASSERT_EQ(r.failure, "");
    EXPECT_FALSE(r.leaderless) << "seed " << 7000 + i;
    EXPECT_LE(r.tookMs, round_ms) << "seed " << 7000 + i;
    worst = std::max(worst, r.tookMs);
  }
  std::printf("%d clean stops of the leader: every member follows the successor within %lld ms\n", runs,
              static_cast<long long>(worst));
}

TEST(ElectionSim, ACleanStopOfTheLeaderUnderLossKeepsTheInvariants) {
  const int runs = std::max(100, RunsFromEnv() / 10);
  const int64_t round_ms = ElectionConfig{}.RoundMs();
  int within_round = 0, leaderless = 0;
  for (int i = 0; i < runs; ++i) {
    HandoverResult r = RunHandover(static_cast<uint64_t>(9000 + i), i % 2 ? 5 : 3, 0.1, 0.05);
    ASSERT_EQ(r.failure, "");
    if (r.tookMs <= 2 * round_ms) ++within_round;
    if (r.leaderless) ++leaderless;
  }
  std::printf("%d clean stops at 10%% loss: %d handed over within two rounds, %d with a leaderless member\n",
              runs, within_round, leaderless);
  // A lost round or ack costs a round; a lost Resign, the crash path.
  EXPECT_GE(within_round * 10, runs * 9);
}

}  // namespace
}  // namespace watchdog
}  // namespace pgvigil
