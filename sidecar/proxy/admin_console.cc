#include "sidecar/proxy/admin_console.h"

#include <cstdio>
#include <map>
#include <tuple>

#include "sidecar/proxy/backend_conn.h"
#include "sidecar/proxy/proxy_shared.h"
#include "sidecar/proxy/session.h"
#include "sidecar/proxy/wire_messages.h"

namespace pgvigil::proxy {

namespace {
std::string Seconds(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", s);
  return b;
}
double Since(std::chrono::steady_clock::time_point t, std::chrono::steady_clock::time_point now) {
  return std::chrono::duration<double>(now - t).count();
}
AdminServerRow IdleRow(const std::string& key, const BackendConn& b, std::chrono::steady_clock::time_point now) {
  AdminServerRow r;
  SplitPoolKey(key, &r.node, &r.user, &r.database, &r.options);
  r.host = b.login().host;
  r.port = b.login().port;
  r.pid = int(b.cancelKey().pid);
  r.state = "idle";
  r.prepared = int(b.prepared.size());
  r.ageSeconds = Since(b.connectedAt, now);
  return r;
}
}  // namespace

void SplitPoolKey(const std::string& key, std::string* node, std::string* user, std::string* database,
                  std::string* options) {
  std::vector<std::string> parts(1);
  for (char c : key) {
    if (c == '\0') parts.emplace_back();
    else parts.back() += c;
  }
  parts.resize(std::max<size_t>(parts.size(), 3));
  *node = parts[0];
  *user = parts[1];
  *database = parts[2];
  options->clear();
  for (size_t i = 3; i < parts.size(); ++i) *options += (options->empty() ? "" : " ") + parts[i];
}

AdminPart CollectAdmin(const Worker& w) {
  AdminPart p;
  auto now = std::chrono::steady_clock::now();
  for (const ClientSession* s : w.sessions) {
    AdminClientRow c;
    c.user = "";
    s->DescribeForAdmin(&c, &p.servers);
    if (!c.user.empty()) p.clients.push_back(std::move(c));
  }
  if (w.tx) {
    w.tx->pool().ForEachIdle([&](const std::string& key, const std::shared_ptr<BackendConn>& b, auto) {
      if (b) p.servers.push_back(IdleRow(key, *b, now));
    });
    for (const auto& st : w.tx->pool().Snapshot(now)) {
      if (st.waiting == 0) continue;
      AdminPart::Waiting wt;
      SplitPoolKey(st.key, &wt.node, &wt.user, &wt.database, &wt.options);
      wt.count = st.waiting;
      wt.maxWaitSeconds = std::chrono::duration<double>(st.maxWait).count();
      p.waiting.push_back(std::move(wt));
    }
  }
  w.idle.ForEach([&](const std::string& key, const std::shared_ptr<BackendConn>& b) {
    if (b) p.servers.push_back(IdleRow(key, *b, now));
  });
  return p;
}

void EncodeAdmin(LocalCommand what, const std::vector<AdminPart>& parts, const std::string& mode, int pool_size,
                 std::string* out) {
  if (what == LocalCommand::kClients) {
    AppendRowDescription(out, {"user", "database", "addr", "state", "tx_status", "backends", "waiting_for",
                               "wait_s", "pinned", "connected_s"});
    for (const auto& p : parts)
      for (const auto& c : p.clients)
        AppendDataRow(out, {c.user, c.database, c.addr, c.state, std::string(1, c.txStatus), c.backends,
                            c.waitingFor, Seconds(c.waitSeconds), c.pinned, Seconds(c.connectedSeconds)});
  } else if (what == LocalCommand::kServers) {
    AppendRowDescription(out, {"node", "host", "port", "user", "database", "options", "pid", "state", "client",
                               "prepared", "age_s"});
    for (const auto& p : parts)
      for (const auto& s : p.servers)
        AppendDataRow(out, {s.node, s.host, std::to_string(s.port), s.user, s.database, s.options,
                            std::to_string(s.pid), s.state, s.client, std::to_string(s.prepared),
                            Seconds(s.ageSeconds)});
  } else {
    // One row per pool (node, user, database, options), every worker together.
    struct Pool {
      int clActive = 0, clWaiting = 0, svActive = 0, svIdle = 0;
      double maxWait = 0;
    };
    using Key = std::tuple<std::string, std::string, std::string, std::string>;  // database, user, node, options
    std::map<Key, Pool> pools;
    for (const auto& p : parts) {
      for (const auto& s : p.servers) {
        Pool& x = pools[{s.database, s.user, s.node, s.options}];
        if (s.state == "idle") x.svIdle++;
        else x.svActive++;
        if (!s.client.empty()) x.clActive++;  // one backend per client and pool
      }
      for (const auto& wt : p.waiting) {
        Pool& x = pools[{wt.database, wt.user, wt.node, wt.options}];
        x.clWaiting += wt.count;
        x.maxWait = std::max(x.maxWait, wt.maxWaitSeconds);
      }
    }
    AppendRowDescription(out, {"database", "user", "node", "options", "pool_mode", "pool_size", "cl_active",
                               "cl_waiting", "sv_active", "sv_idle", "maxwait_s"});
    for (const auto& [k, x] : pools)
      AppendDataRow(out, {std::get<0>(k), std::get<1>(k), std::get<2>(k), std::get<3>(k), mode,
                          std::to_string(pool_size), std::to_string(x.clActive), std::to_string(x.clWaiting),
                          std::to_string(x.svActive), std::to_string(x.svIdle), Seconds(x.maxWait)});
  }
  AppendCommandComplete(out, "SHOW");
}

}  // namespace pgvigil::proxy
