// pgvigil-e2e-primary-checker: watches a cluster for split brain while a test runs.
//
// Every --interval-ms (100) each node is probed, in its own thread and with hard
// deadlines: directly over libpq (SELECT pg_is_in_recovery()) and through its sidecar
// (GET /v1/proxy/pool_nodes: the node that proxy really sends writes to, its
// "primary" row; GET /v1/proxy/routing: its table's generation and primary). A violation is an
// instant where two different nodes are both writable (not in recovery) AND each is
// named primary by some reachable proxy; it is confirmed once it held in two
// consecutive evaluations with every involved node probed anew (see e2e_logic.h).
// With --vip ADDR and --vip-ns NAME=NETNS..., a second thread lists each namespace's
// addresses every --vip-interval-ms (20) (setns into /run/netns/NETNS + getifaddrs;
// needs root); any listing with two holders is a violation.
//
//   pgvigil-e2e-primary-checker --node NAME=HOST:PGPORT[:RESTPORT] ... [--user postgres]
//       [--dbname postgres] [--conninfo-extra STR] [--interval-ms 100]
//       [--probe-timeout-ms 500] [--vip ADDR --vip-ns NAME=NETNS ...]
//       [--vip-interval-ms 20] [--duration S] [--quiet]
// Runs until SIGTERM/SIGINT (or --duration). Prints every change of the observed
// picture, then a summary. Exit 0: no violation; 1: violations (listed); 2: usage.
// Passwords come from PGPASSFILE as usual.
#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sched.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <cpprest/json.h>

#include "common/pool_nodes_doc.h"
#include "common/routing_table.h"
#include "e2e/tools/e2e_io.h"
#include "e2e/tools/e2e_logic.h"

using namespace pgvigil::e2e;

namespace {
std::atomic<bool> g_stop{false};
void OnStop(int) { g_stop = true; }

void SleepMs(int64_t ms) {
  int64_t until = NowMonoMs() + ms;
  while (!g_stop) {
    int64_t left = until - NowMonoMs();
    if (left <= 0) return;
    usleep(static_cast<useconds_t>(std::min<int64_t>(left, 50)) * 1000);
  }
}

struct Shared {
  std::mutex mu;
  std::vector<NodeView> views;
  std::vector<int64_t> routingAtMs;
  std::vector<std::string> lastPgError;
};

struct Options {
  std::vector<NodeAddr> nodes;
  std::string user = "postgres", dbname = "postgres", extra;
  int intervalMs = 100, probeTimeoutMs = 500, vipIntervalMs = 20;
  std::string vip;
  std::vector<std::pair<std::string, std::string>> vipNs;  // name, netns
  double durationS = 0;
  bool quiet = false;
};

void NodeWorker(const Options& o, size_t idx, Shared* sh) {
  const NodeAddr& n = o.nodes[idx];
  std::string conninfo = "host=" + n.host + " port=" + std::to_string(n.pgPort) + " user=" + o.user +
                         " dbname=" + o.dbname + " application_name=pgvigil-e2e-checker " + o.extra;
  PGconn* conn = nullptr;
  while (!g_stop) {
    int64_t t0 = NowMonoMs();
    std::string err;
    Tri w = Tri::kUnknown;
    if (!conn) conn = ConnectWithDeadline(conninfo, o.probeTimeoutMs, &err);
    if (conn) {
      std::vector<std::vector<std::string>> rows;
      if (QueryWithDeadline(conn, "SELECT pg_is_in_recovery()", o.probeTimeoutMs, &rows, &err) &&
          rows.size() == 1 && rows[0].size() == 1) {
        w = rows[0][0] == "f" ? Tri::kYes : Tri::kNo;
      } else {
        PQfinish(conn);
        conn = nullptr;
      }
    }
    int64_t pgAt = NowWallMs();
    {
      std::lock_guard<std::mutex> g(sh->mu);
      NodeView& v = sh->views[idx];
      v.writable = w;
      ++v.pgObsId;
      v.pgAtMs = pgAt;
      sh->lastPgError[idx] = err;
    }
    // The proxy's routing table (generation, the controller's primary) and the node it
    // really sends writes to: the "primary" row of its pool_nodes (its effective
    // routing; none when it fails writes closed).
    int status = 0;
    std::string body;
    bool reachable = false;
    std::string primary, tablePrimary;
    int64_t generation = -1;
    if (HttpGet(n.host, n.restPort, "/v1/proxy/routing", o.probeTimeoutMs, &status, &body, &err) &&
        status == 200) {
      try {
        // The table is common/routing_table.h's, read as the controller reads it.
        auto table = pgvigil::RoutingTableFromJson(web::json::value::parse(body));
        if (table.ok()) {
          tablePrimary = table->primary;
          generation = int64_t(table->generation);
        }
        reachable = true;
      } catch (const std::exception&) {
      }
    }
    if (reachable) {
      reachable = false;
      if (HttpGet(n.host, n.restPort, "/v1/proxy/pool_nodes", o.probeTimeoutMs, &status, &body, &err) &&
          status == 200) {
        try {
          const auto j = web::json::value::parse(body);
          std::vector<std::string> notes;
          const auto rows = pgvigil::PoolNodesFromJson(j, &notes);
          if (!j.has_field("nodes") || !notes.empty()) throw std::runtime_error("pool_nodes unreadable");
          for (const pgvigil::PoolNodeRow& row : rows) {
            if (row.role != "primary") continue;
            const std::string& host = row.hostname;
            const std::string& port = row.port;
            primary = "?" + host + ":" + port;  // a node the checker was not told about
            for (const NodeAddr& m : o.nodes)
              if (m.host == host && std::to_string(m.pgPort) == port) primary = m.name;
          }
          reachable = true;
        } catch (const std::exception&) {
        }
      }
    }
    {
      std::lock_guard<std::mutex> g(sh->mu);
      NodeView& v = sh->views[idx];
      v.proxyReachable = reachable;
      v.routedPrimary = primary;
      v.tablePrimary = tablePrimary;
      v.generation = generation;
      ++v.routingObsId;
      sh->routingAtMs[idx] = NowWallMs();
    }
    int64_t spent = NowMonoMs() - t0;
    if (spent < o.intervalMs) SleepMs(o.intervalMs - spent);
  }
  if (conn) PQfinish(conn);
}

// Holders of the VIP: this (dedicated) thread enters each namespace in turn with
// setns(2) on /run/netns/NETNS (network namespaces are per thread) and lists its
// addresses with getifaddrs(3); a few microseconds per namespace, no fork.
class VipLister {
 public:
  explicit VipLister(const Options& o) : o_(o) {
    for (const auto& [name, ns] : o.vipNs) {
      int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) std::fprintf(stderr, "checker: cannot open /run/netns/%s: %s\n", ns.c_str(), std::strerror(errno));
      fds_.push_back(fd);
    }
    if (inet_pton(AF_INET, o.vip.c_str(), &vip_) != 1)
      std::fprintf(stderr, "checker: --vip %s is not an IPv4 address\n", o.vip.c_str());
  }
  ~VipLister() {
    for (int fd : fds_)
      if (fd >= 0) ::close(fd);
  }
  // Holders, and false when some namespace could not be listed.
  bool List(std::vector<std::string>* holders) {
    bool ok = true;
    for (size_t i = 0; i < fds_.size(); ++i) {
      if (fds_[i] < 0 || ::setns(fds_[i], CLONE_NEWNET) != 0) { ok = false; continue; }
      ifaddrs* ifa = nullptr;
      if (getifaddrs(&ifa) != 0) { ok = false; continue; }
      for (ifaddrs* p = ifa; p; p = p->ifa_next) {
        if (!p->ifa_addr || p->ifa_addr->sa_family != AF_INET) continue;
        if (reinterpret_cast<sockaddr_in*>(p->ifa_addr)->sin_addr.s_addr == vip_.s_addr) {
          holders->push_back(o_.vipNs[i].first);
          break;
        }
      }
      freeifaddrs(ifa);
    }
    return ok;
  }

 private:
  const Options& o_;
  std::vector<int> fds_;
  in_addr vip_{};
};

const char* TriName(Tri t) { return t == Tri::kYes ? "W" : t == Tri::kNo ? "R" : "?"; }

std::string Describe(const Snapshot& s) {
  std::ostringstream out;
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    const NodeView& v = s.nodes[i];
    out << (i ? " " : "") << v.name << "=" << TriName(v.writable);
    if (v.proxyReachable) {
      out << "(proxy->" << (v.routedPrimary.empty() ? "none" : v.routedPrimary);
      if (v.tablePrimary != v.routedPrimary)
        out << " table:" << (v.tablePrimary.empty() ? "none" : v.tablePrimary);
      out << " g" << v.generation << ")";
    }
    else
      out << "(proxy ?)";
  }
  return out.str();
}

void Usage() {
  std::cerr << "usage: pgvigil-e2e-primary-checker --node NAME=HOST:PGPORT[:RESTPORT] ...\n"
               "         [--user U] [--dbname D] [--conninfo-extra STR] [--interval-ms 100]\n"
               "         [--probe-timeout-ms 500] [--vip ADDR --vip-ns NAME=NETNS ...]\n"
               "         [--vip-interval-ms 20] [--duration S] [--quiet]\n";
}
}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "checker: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (a == "--node") {
        NodeAddr n;
        std::string err;
        if (!ParseNodeArg(next(), &n, &err)) { std::cerr << "checker: " << err << "\n"; return 2; }
        o.nodes.push_back(n);
      } else if (a == "--user") o.user = next();
      else if (a == "--dbname") o.dbname = next();
      else if (a == "--conninfo-extra") o.extra = next();
      else if (a == "--interval-ms") o.intervalMs = std::stoi(next());
      else if (a == "--probe-timeout-ms") o.probeTimeoutMs = std::stoi(next());
      else if (a == "--vip") o.vip = next();
      else if (a == "--vip-ns") {
        std::string v = next();
        auto eq = v.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == v.size()) {
          std::cerr << "checker: --vip-ns wants NAME=NETNS\n";
          return 2;
        }
        o.vipNs.emplace_back(v.substr(0, eq), v.substr(eq + 1));
      } else if (a == "--vip-interval-ms") o.vipIntervalMs = std::stoi(next());
      else if (a == "--duration") o.durationS = std::stod(next());
      else if (a == "--quiet") o.quiet = true;
      else if (a == "-h" || a == "--help") { Usage(); return 0; }
      else { std::cerr << "checker: unknown option " << a << "\n"; Usage(); return 2; }
    } catch (const std::exception&) {
      std::cerr << "checker: bad value for " << a << "\n";
      return 2;
    }
  }
  if (o.nodes.size() < 2 || (o.vip.empty() != o.vipNs.empty())) { Usage(); return 2; }

  struct sigaction sa{};
  sa.sa_handler = OnStop;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  Shared sh;
  for (const NodeAddr& n : o.nodes) {
    NodeView v;
    v.name = n.name;
    sh.views.push_back(v);
  }
  sh.routingAtMs.assign(o.nodes.size(), 0);
  sh.lastPgError.assign(o.nodes.size(), "");

  std::vector<std::thread> threads;
  for (size_t i = 0; i < o.nodes.size(); ++i) threads.emplace_back(NodeWorker, std::cref(o), i, &sh);

  VipDetector vipDet;
  std::atomic<int64_t> vipListErrors{0};
  std::mutex vipMu;
  std::thread vipThread;
  if (!o.vip.empty()) {
    vipThread = std::thread([&] {
      VipLister lister(o);
      std::string lastDesc = "-";
      while (!g_stop) {
        int64_t t0 = NowMonoMs();
        std::vector<std::string> h;
        if (!lister.List(&h)) ++vipListErrors;
        int64_t at = NowWallMs();
        std::string desc = h.empty() ? "nobody" : Join(h, ",");
        bool bad;
        {
          std::lock_guard<std::mutex> g(vipMu);
          bad = vipDet.Feed(at, h);
        }
        if (desc != lastDesc) {
          std::printf("%s vip %s: %s%s\n", FormatMs(at).c_str(), o.vip.c_str(), desc.c_str(),
                      bad ? "   <-- VIOLATION: two VIP holders" : "");
          lastDesc = desc;
        }
        int64_t spent = NowMonoMs() - t0;
        if (spent < o.vipIntervalMs) SleepMs(o.vipIntervalMs - spent);
      }
    });
  }

  // Evaluate snapshots. Results older than a probe cycle plus its timeout are unknown.
  const int64_t staleMs = o.probeTimeoutMs + o.intervalMs + 300;
  SplitBrainDetector detector;
  Episode twoWritable;  // unrouted (note only)
  std::vector<Episode> twoWritableEpisodes;
  bool inTwoWritable = false;
  std::map<std::string, std::array<int64_t, 3>> counts;  // name -> W, R, ?
  int64_t evaluations = 0;
  int64_t startMono = NowMonoMs();
  std::string lastDesc;
  while (!g_stop) {
    if (o.durationS > 0 && NowMonoMs() - startMono >= static_cast<int64_t>(o.durationS * 1000)) break;
    int64_t t0 = NowMonoMs();
    Snapshot s;
    s.atMs = NowWallMs();
    {
      std::lock_guard<std::mutex> g(sh.mu);
      s.nodes = sh.views;
      for (size_t i = 0; i < s.nodes.size(); ++i) {
        if (s.atMs - s.nodes[i].pgAtMs > staleMs) s.nodes[i].writable = Tri::kUnknown;
        if (s.atMs - sh.routingAtMs[i] > staleMs) s.nodes[i].proxyReachable = false;
      }
    }
    bool started = s.nodes[0].pgObsId > 0;  // wait for the first answers
    if (started) {
      ++evaluations;
      for (const NodeView& v : s.nodes) {
        auto& c = counts[v.name];
        ++c[v.writable == Tri::kYes ? 0 : v.writable == Tri::kNo ? 1 : 2];
      }
      bool hit = detector.Feed(s);
      std::vector<std::string> w = WritableNodes(s);
      if (w.size() >= 2) {
        if (!inTwoWritable) twoWritable = Episode{w, s.atMs, s.atMs, 0, false};
        twoWritable.lastMs = s.atMs;
        ++twoWritable.samples;
        inTwoWritable = true;
      } else if (inTwoWritable) {
        twoWritableEpisodes.push_back(twoWritable);
        inTwoWritable = false;
      }
      std::string desc = Describe(s);
      if (desc != lastDesc && !o.quiet) {
        std::printf("%s %s%s\n", FormatMs(s.atMs).c_str(), desc.c_str(),
                    hit ? "   <-- two writable primaries routed" : "");
      }
      lastDesc = desc;
    }
    int64_t spent = NowMonoMs() - t0;
    if (spent < o.intervalMs) SleepMs(o.intervalMs - spent);
  }
  g_stop = true;
  for (auto& t : threads) t.join();
  if (vipThread.joinable()) vipThread.join();
  detector.Finish();
  vipDet.Finish();
  if (inTwoWritable) twoWritableEpisodes.push_back(twoWritable);

  std::printf("checker: %lld evaluations every %d ms; VIP listings %lld (%lld failed)\n",
              static_cast<long long>(evaluations), o.intervalMs, static_cast<long long>(vipDet.samples()),
              static_cast<long long>(vipListErrors.load()));
  for (const NodeAddr& n : o.nodes) {
    auto c = counts[n.name];
    std::printf("checker: %s writable in %lld, in recovery in %lld, unknown in %lld evaluations\n",
                n.name.c_str(), static_cast<long long>(c[0]), static_cast<long long>(c[1]),
                static_cast<long long>(c[2]));
  }
  int violations = 0;
  for (const Episode& e : detector.episodes()) {
    std::printf("checker: %s: two writable primaries routed by proxies: %s from %s to %s (%d samples)\n",
                e.confirmed ? "VIOLATION" : "note (unconfirmed, single probe round)",
                Join(e.nodes, "+").c_str(), FormatMs(e.firstMs).c_str(), FormatMs(e.lastMs).c_str(),
                e.samples);
    if (e.confirmed) ++violations;
  }
  for (const Episode& e : vipDet.episodes()) {
    std::printf("checker: VIOLATION: two VIP holders %s from %s to %s (%d listings)\n",
                Join(e.nodes, "+").c_str(), FormatMs(e.firstMs).c_str(), FormatMs(e.lastMs).c_str(),
                e.samples);
    ++violations;
  }
  for (const Episode& e : twoWritableEpisodes)
    std::printf("checker: note: two nodes writable (directly, routed or not) %s from %s to %s (%d samples)\n",
                Join(e.nodes, "+").c_str(), FormatMs(e.firstMs).c_str(), FormatMs(e.lastMs).c_str(),
                e.samples);
  std::printf("checker: %s\n", violations ? "VIOLATIONS FOUND" : "no violations");
  return violations ? 1 : 0;
}
