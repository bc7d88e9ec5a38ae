#include "common/sidecar_status.h"

#include <tuple>

#include "common/json_fields.h"

namespace pgvigil {

namespace {

using web::json::value;
using Reader = JsonFieldReader;
using json_fields::IsEntry;
using json_fields::StringOrNull;
using json_fields::Strings;

SidecarParameters ReadParameters(const Reader& r) {
  SidecarParameters p;
  r.Str("file", &p.file);
  r.I64("count", &p.count);
  r.Bool("included", &p.included);
  r.StrList("pendingRestart", &p.pendingRestart);
  r.Each("errors", [&](const value& item, const std::string& path) {
    if (!IsEntry(item, path, r.notes())) return;
    Reader e(item, path, r.notes());
    SidecarParameterError x;
    e.Str("name", &x.name);
    e.Str("error", &x.error);
    p.errors.push_back(x);
  });
  r.Each("setAside", [&](const value& item, const std::string& path) {
    if (!IsEntry(item, path, r.notes())) return;
    Reader e(item, path, r.notes());
    SidecarParameterSetAside x;
    e.Str("name", &x.name);
    e.Str("value", &x.value);
    e.Str("reason", &x.reason);
    p.setAside.push_back(x);
  });
  r.Str("lastApplied", &p.lastApplied);
  r.Str("lastError", &p.lastError);
  return p;
}

SidecarPostgres ReadPostgres(const Reader& r) {
  SidecarPostgres p;
  r.Bool("running", &p.running);
  r.Str("role", &p.role);
  r.U64("timeline", &p.timeline);
  r.U64("lsn", &p.lsn);
  if (r.Get("receivedLsn") || r.Get("walReceiver") || r.Get("upstreamHost")) {
    SidecarStandby s;
    r.U64("receivedLsn", &s.receivedLsn);
    r.OptU64("replayLagBytes", &s.replayLagBytes);
    r.Str("walReceiver", &s.walReceiver);
    r.Str("upstreamHost", &s.upstreamHost);
    r.Int("upstreamPort", &s.upstreamPort);
    p.standby = s;
  }
  r.Str("lastError", &p.lastError);
  if (r.Get("dataDirectoryInitialized")) {
    bool init = true;
    r.Bool("dataDirectoryInitialized", &init);
    p.dataDirectoryInitialized = init;
  }
  r.Str("dataDirectoryRole", &p.dataDirectoryRole);
  if (const value* params = r.Get("parameters"))
    p.parameters = ReadParameters(Reader(*params, r.Path("parameters"), r.notes()));
  return p;
}

SidecarBackend ReadBackend(const Reader& r) {
  SidecarBackend b;
  r.Str("node", &b.node);
  r.Bool("up", &b.up);
  r.Str("role", &b.role);
  r.U64("timeline", &b.timeline);
  r.U64("lsn", &b.lsn);
  r.U64("receivedLsn", &b.receivedLsn);
  r.U64("replayLagBytes", &b.replayLagBytes);
  r.Str("lastError", &b.lastError);
  r.Str("lastChange", &b.lastChange);
  r.Str("lastCheck", &b.lastCheck);
  return b;
}

SidecarSelfFence ReadSelfFence(const Reader& r) {
  SidecarSelfFence f;
  r.Bool("enabled", &f.enabled);
  if (r.Get("fenced") || r.Get("leaseHeld") || r.Get("leaseRequired")) {
    SidecarFencer x;
    r.Bool("leaseRequired", &x.leaseRequired);
    r.Bool("leaseHeld", &x.leaseHeld);
    r.Bool("fenced", &x.fenced);
    r.U64("fences", &x.fences);
    if (const value* last = r.Get("lastFence")) {
      Reader l(*last, r.Path("lastFence"), r.notes());
      if (last->is_object()) {
        SidecarLastFence lf;
        l.Str("at", &lf.at);
        l.Str("reason", &lf.reason);
        l.Str("signal", &lf.signal);
        l.OptI64("stoppedAfterMs", &lf.stoppedAfterMs);
        x.lastFence = lf;
      }
    }
    f.fencer = x;
  }
  r.Str("why", &f.why);
  // Kubernetes mode shows it, null while not fenced; elsewhere, and from an
  // older sidecar, there is no field at all.
  f.fencedInTermShown = r.Has("fencedInTerm");
  r.OptU64("fencedInTerm", &f.fencedInTerm);
  return f;
}

}  // namespace

value ToJson(const SidecarParameters& x) {
  value params = value::object();
  params["file"] = value::string(x.file);
  params["count"] = value::number(x.count);
  params["included"] = value::boolean(x.included);
  params["pendingRestart"] = Strings(x.pendingRestart);
  value errors = value::array(x.errors.size());
  for (size_t i = 0; i < x.errors.size(); ++i) {
    value e = value::object();
    e["name"] = value::string(x.errors[i].name);
    e["error"] = value::string(x.errors[i].error);
    errors[i] = e;
  }
  params["errors"] = errors;
  value aside = value::array(x.setAside.size());
  for (size_t i = 0; i < x.setAside.size(); ++i) {
    value e = value::object();
    e["name"] = value::string(x.setAside[i].name);
    e["value"] = value::string(x.setAside[i].value);
    e["reason"] = value::string(x.setAside[i].reason);
    aside[i] = e;
  }
  params["setAside"] = aside;
  params["lastApplied"] = value::string(x.lastApplied);
  params["lastError"] = value::string(x.lastError);
  return params;
}

value ToJson(const SidecarPostgres& p) {
  value v = value::object();
  v["running"] = value::boolean(p.running);
  v["role"] = value::string(p.role);
  v["timeline"] = value::number(p.timeline);
  v["lsn"] = value::number(p.lsn);
  if (p.standby) {
    const SidecarStandby& s = *p.standby;
    v["receivedLsn"] = value::number(s.receivedLsn);
    v["replayLagBytes"] = s.replayLagBytes ? value::number(*s.replayLagBytes) : value::null();
    v["walReceiver"] = value::string(s.walReceiver);
    v["upstreamHost"] = value::string(s.upstreamHost);
    v["upstreamPort"] = value::number(s.upstreamPort);
  }
  if (!p.lastError.empty()) v["lastError"] = value::string(p.lastError);
  if (p.dataDirectoryInitialized)
    v["dataDirectoryInitialized"] = value::boolean(*p.dataDirectoryInitialized);
  if (!p.dataDirectoryRole.empty()) v["dataDirectoryRole"] = value::string(p.dataDirectoryRole);
  if (p.parameters) v["parameters"] = ToJson(*p.parameters);
  return v;
}

value ToJson(const SidecarSelfFence& f) {
  value v = value::object();
  v["enabled"] = value::boolean(f.enabled);
  if (f.fencer) {
    const SidecarFencer& x = *f.fencer;
    v["leaseRequired"] = value::boolean(x.leaseRequired);
    v["leaseHeld"] = value::boolean(x.leaseHeld);
    v["fenced"] = value::boolean(x.fenced);
    v["fences"] = value::number(x.fences);
    value last = value::null();
    if (x.lastFence) {
      last = value::object();
      last["at"] = value::string(x.lastFence->at);
      last["reason"] = value::string(x.lastFence->reason);
      last["signal"] = value::string(x.lastFence->signal);
      last["stoppedAfterMs"] =
          x.lastFence->stoppedAfterMs ? value::number(*x.lastFence->stoppedAfterMs) : value::null();
    }
    v["lastFence"] = last;
  }
  if (!f.why.empty()) v["why"] = value::string(f.why);
  if (f.fencedInTermShown)
    v["fencedInTerm"] = f.fencedInTerm ? value::number(*f.fencedInTerm) : value::null();
  return v;
}

value ToJson(const SidecarOperation& o) {
  value v = value::object();
  v["id"] = value::string(o.id);
  v["type"] = value::string(o.type);
  v["state"] = value::string(o.state);
  v["step"] = value::string(o.step);
  v["method"] = StringOrNull(o.method);
  value p = value::object();
  p["doneBytes"] = value::number(o.doneBytes);
  p["totalBytes"] = value::number(o.totalBytes);
  p["percent"] = value::number(o.percent);
  v["progress"] = p;
  v["term"] = value::number(o.term);
  v["startedAt"] = value::string(o.startedAt);
  v["finishedAt"] = StringOrNull(o.finishedAt);
  v["durationMs"] = value::number(o.durationMs);
  v["error"] = StringOrNull(o.error);
  v["log"] = Strings(o.log);
  return v;
}

value ToJson(const SidecarStatus& s) {
  value v = value::object();
  v["node"] = value::string(s.node);
  v["term"] = value::number(s.term);
  v["postgres"] = ToJson(s.postgres);
  value backends = value::array(s.backends.size());
  for (size_t i = 0; i < s.backends.size(); ++i) {
    const SidecarBackend& b = s.backends[i];
    value e = value::object();
    e["node"] = value::string(b.node);
    e["up"] = value::boolean(b.up);
    e["role"] = value::string(b.role);
    e["timeline"] = value::number(b.timeline);
    e["lsn"] = value::number(b.lsn);
    e["receivedLsn"] = value::number(b.receivedLsn);
    e["replayLagBytes"] = value::number(b.replayLagBytes);
    e["lastError"] = value::string(b.lastError);
    e["lastChange"] = value::string(b.lastChange);
    e["lastCheck"] = value::string(b.lastCheck);
    backends[i] = e;
  }
  v["backends"] = backends;
  v["selfFence"] = ToJson(s.selfFence);
  value comps = value::object();
  for (const auto& [name, summary] : s.components) comps[name] = summary;
  v["components"] = comps;
  v["operation"] = s.operation ? ToJson(*s.operation) : value::null();
  return v;
}

value ToJson(const ProxySummary& p) {
  value v = value::object();
  v["port"] = value::number(p.port);
  v["clients"] = value::number(p.clients);
  v["routingGeneration"] = value::number(p.routingGeneration);
  v["primary"] = value::string(p.primary);
  if (p.noPrimaryReason) v["noPrimaryReason"] = value::string(*p.noPrimaryReason);
  v["paused"] = value::boolean(p.paused);
  v["inTransaction"] = value::number(p.inTransaction);
  value workers = value::array(p.workerSessions.size());
  for (size_t i = 0; i < p.workerSessions.size(); ++i)
    workers[i] = value::number(p.workerSessions[i]);
  v["workerSessions"] = workers;
  value nodes = value::array(p.nodes.size());
  for (size_t i = 0; i < p.nodes.size(); ++i) {
    const ProxySummaryNode& n = p.nodes[i];
    value e = value::object();
    e["node"] = value::string(n.node);
    e["status"] = value::string(n.status);
    e["role"] = value::string(n.role);
    e["selectCount"] = value::number(n.selectCount);
    e["loadBalance"] = value::boolean(n.loadBalance);
    if (!n.loadBalance) e["why"] = value::string(n.why);
    nodes[i] = e;
  }
  v["nodes"] = nodes;
  return v;
}

Result<SidecarStatus> SidecarStatusFromJson(const value& v, std::vector<std::string>* notes) {
  if (!v.is_object() || !v.has_field("postgres"))
    return Result<SidecarStatus>::Error("sidecar status has no 'postgres' section");
  Reader r(v, "", notes);
  SidecarStatus s;
  r.Str("node", &s.node);
  r.U64("term", &s.term);
  s.postgres = ReadPostgres(Reader(v.at("postgres"), "postgres", notes));
  r.Each("backends", [&](const value& item, const std::string& path) {
    if (!IsEntry(item, path, notes)) return;
    Reader b(item, path, notes);
    // Without a true or false "up" a backend is no vote either way.
    if (!b.Get("up") || !b.Get("up")->is_boolean()) {
      if (notes) notes->push_back(path + ".up: not true or false; left out");
      return;
    }
    s.backends.push_back(ReadBackend(b));
  });
  if (const value* fence = r.Get("selfFence")) {
    s.selfFence = ReadSelfFence(Reader(*fence, "selfFence", notes));
  }
  if (const value* comps = r.Get("components")) {
    if (comps->is_object()) {
      for (const auto& [name, summary] : comps->as_object()) s.components[name] = summary;
    } else {
      r.Note("components", "not an object");
    }
  }
  if (const value* op = r.Get("operation")) {
    if (op->is_object())
      s.operation = SidecarOperationFromJson(*op, notes);
    else
      r.Note("operation", "not an object");
  }
  return s;
}

SidecarOperation SidecarOperationFromJson(const value& v, std::vector<std::string>* notes) {
  Reader r(v, "operation", notes);
  SidecarOperation o;
  r.Str("id", &o.id);
  r.Str("type", &o.type);
  r.Str("state", &o.state);
  r.Str("step", &o.step);
  r.Str("method", &o.method);
  if (const value* p = r.Get("progress")) {
    Reader pr(*p, "operation.progress", notes);
    pr.U64("doneBytes", &o.doneBytes);
    pr.U64("totalBytes", &o.totalBytes);
    pr.Int("percent", &o.percent);
  }
  r.U64("term", &o.term);
  r.Str("startedAt", &o.startedAt);
  r.Str("finishedAt", &o.finishedAt);
  r.I64("durationMs", &o.durationMs);
  r.Str("error", &o.error);
  r.StrList("log", &o.log);
  return o;
}

ProxySummary ProxySummaryFromJson(const value& v, std::vector<std::string>* notes) {
  Reader r(v, "components.proxy", notes);
  ProxySummary p;
  r.Int("port", &p.port);
  r.Int("clients", &p.clients);
  r.U64("routingGeneration", &p.routingGeneration);
  r.Str("primary", &p.primary);
  if (r.Get("noPrimaryReason")) {
    std::string why;
    r.Str("noPrimaryReason", &why);
    p.noPrimaryReason = why;
  }
  r.Bool("paused", &p.paused);
  r.Int("inTransaction", &p.inTransaction);
  r.Each("workerSessions", [&](const value& item, const std::string& path) {
    if (item.is_number())
      p.workerSessions.push_back(static_cast<int>(item.as_number().to_int64()));
    else if (notes)
      notes->push_back(path + ": not a number; left out");
  });
  r.Each("nodes", [&](const value& item, const std::string& path) {
    if (!IsEntry(item, path, notes)) return;
    Reader e(item, path, notes);
    ProxySummaryNode n;
    e.Str("node", &n.node);
    e.Str("status", &n.status);
    e.Str("role", &n.role);
    e.U64("selectCount", &n.selectCount);
    e.Bool("loadBalance", &n.loadBalance);
    e.Str("why", &n.why);
    p.nodes.push_back(n);
  });
  return p;
}

bool operator==(const SidecarStandby& a, const SidecarStandby& b) {
  return std::tie(a.receivedLsn, a.replayLagBytes, a.walReceiver, a.upstreamHost, a.upstreamPort) ==
         std::tie(b.receivedLsn, b.replayLagBytes, b.walReceiver, b.upstreamHost, b.upstreamPort);
}
bool operator==(const SidecarParameterError& a, const SidecarParameterError& b) {
  return a.name == b.name && a.error == b.error;
}
bool operator==(const SidecarParameterSetAside& a, const SidecarParameterSetAside& b) {
  return a.name == b.name && a.value == b.value && a.reason == b.reason;
}
bool operator==(const SidecarParameters& a, const SidecarParameters& b) {
  return std::tie(a.file, a.count, a.included, a.pendingRestart, a.errors, a.setAside,
                  a.lastApplied, a.lastError) == std::tie(b.file, b.count, b.included,
                                                          b.pendingRestart, b.errors, b.setAside,
                                                          b.lastApplied, b.lastError);
}
bool operator==(const SidecarPostgres& a, const SidecarPostgres& b) {
  return std::tie(a.running, a.role, a.timeline, a.lsn, a.standby, a.lastError,
                  a.dataDirectoryInitialized, a.dataDirectoryRole,
                  a.parameters) == std::tie(b.running, b.role, b.timeline, b.lsn, b.standby,
                                            b.lastError, b.dataDirectoryInitialized,
                                            b.dataDirectoryRole, b.parameters);
}
bool operator==(const SidecarBackend& a, const SidecarBackend& b) {
  return std::tie(a.node, a.up, a.role, a.timeline, a.lsn, a.receivedLsn, a.replayLagBytes,
                  a.lastError, a.lastChange, a.lastCheck) ==
         std::tie(b.node, b.up, b.role, b.timeline, b.lsn, b.receivedLsn, b.replayLagBytes,
                  b.lastError, b.lastChange, b.lastCheck);
}
bool operator==(const SidecarLastFence& a, const SidecarLastFence& b) {
  return std::tie(a.at, a.reason, a.signal, a.stoppedAfterMs) ==
         std::tie(b.at, b.reason, b.signal, b.stoppedAfterMs);
}
bool operator==(const SidecarFencer& a, const SidecarFencer& b) {
  return std::tie(a.leaseRequired, a.leaseHeld, a.fenced, a.fences, a.lastFence) ==
         std::tie(b.leaseRequired, b.leaseHeld, b.fenced, b.fences, b.lastFence);
}
bool operator==(const SidecarSelfFence& a, const SidecarSelfFence& b) {
  return std::tie(a.enabled, a.fencer, a.why, a.fencedInTermShown, a.fencedInTerm) ==
         std::tie(b.enabled, b.fencer, b.why, b.fencedInTermShown, b.fencedInTerm);
}
bool operator==(const SidecarOperation& a, const SidecarOperation& b) {
  return std::tie(a.id, a.type, a.state, a.step, a.method, a.doneBytes, a.totalBytes, a.percent,
                  a.term, a.startedAt, a.finishedAt, a.durationMs, a.error, a.log) ==
         std::tie(b.id, b.type, b.state, b.step, b.method, b.doneBytes, b.totalBytes, b.percent,
                  b.term, b.startedAt, b.finishedAt, b.durationMs, b.error, b.log);
}
bool operator==(const SidecarStatus& a, const SidecarStatus& b) {
  return std::tie(a.node, a.term, a.postgres, a.backends, a.selfFence, a.components, a.operation) ==
         std::tie(b.node, b.term, b.postgres, b.backends, b.selfFence, b.components, b.operation);
}
bool operator==(const ProxySummaryNode& a, const ProxySummaryNode& b) {
  return std::tie(a.node, a.status, a.role, a.selectCount, a.loadBalance, a.why) ==
         std::tie(b.node, b.status, b.role, b.selectCount, b.loadBalance, b.why);
}
bool operator==(const ProxySummary& a, const ProxySummary& b) {
  return std::tie(a.port, a.clients, a.routingGeneration, a.primary, a.noPrimaryReason, a.paused,
                  a.inTransaction, a.workerSessions, a.nodes) ==
         std::tie(b.port, b.clients, b.routingGeneration, b.primary, b.noPrimaryReason, b.paused,
                  b.inTransaction, b.workerSessions, b.nodes);
}

}  // namespace pgvigil
