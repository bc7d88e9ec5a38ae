// GET /v1/status contract: documents round trip (struct -> JSON -> struct), the
// bytes the sidecar wrote before the contract came here are written again, a
// document from an older sidecar reads with its defaults, and a field of
// another type reads as its default and is named.
#include "common/sidecar_status.h"

#include <gtest/gtest.h>

#include <functional>
#include <optional>

namespace pgvigil {
namespace {

using web::json::value;

SidecarStatus Full() {
  SidecarStatus s;
  s.node = "demo-1";
  s.term = 7;
  s.postgres.running = true;
  s.postgres.role = "standby";
  s.postgres.timeline = 3;
  s.postgres.lsn = 50331648;
  SidecarStandby standby;
  standby.receivedLsn = 50331700;
  standby.replayLagBytes = 52;
  standby.walReceiver = "streaming";
  standby.upstreamHost = "demo-0.demo-hl";
  standby.upstreamPort = 5432;
  s.postgres.standby = standby;
  s.postgres.dataDirectoryInitialized = true;
  s.postgres.dataDirectoryRole = "standby";
  SidecarParameters params;
  params.file = "/var/lib/postgresql/data/pgvigil.conf";
  params.count = 3;
  params.included = true;
  params.pendingRestart = {"shared_buffers"};
  params.errors = {{"log_timezone", "invalid value for parameter"}};
  params.setAside = {{"work_mem", "lots", "not an integer"}};
  params.lastApplied = "2026-12-06T17:00:00Z";
  s.postgres.parameters = params;
  SidecarBackend b;
  b.node = "demo-0";
  b.up = true;
  b.role = "primary";
  b.timeline = 3;
  b.lsn = 50331700;
  b.lastChange = "2026-12-06T16:59:00Z";
  b.lastCheck = "2026-12-06T17:00:01Z";
  s.backends = {b};
  SidecarFencer fencer;
  fencer.leaseRequired = true;
  fencer.leaseHeld = false;
  fencer.fenced = true;
  fencer.fences = 1;
  fencer.lastFence =
      SidecarLastFence{"2026-12-06T17:00:02Z", "lost its write lease", "SIGQUIT", 40};
  s.selfFence.enabled = true;
  s.selfFence.fencer = fencer;
  s.selfFence.fencedInTermShown = true;
  s.selfFence.fencedInTerm = 6;
  s.components["proxy"] =
      value::parse(R"({"routingGeneration": 9, "paused": false, "inTransaction": 0})");
  s.components["watchdog"] = value::parse(R"({"state": "STANDBY", "term": 7})");
  SidecarOperation op;
  op.id = "op-3";
  op.type = "rebuild";
  op.state = "succeeded";
  op.step = "done";
  op.method = "rewind";
  op.doneBytes = 10;
  op.totalBytes = 10;
  op.percent = 100;
  op.term = 6;
  op.startedAt = "2026-12-06T16:58:00Z";
  op.finishedAt = "2026-12-06T16:58:04Z";
  op.durationMs = 4000;
  op.log = {"accepted rebuild in term 6", "step: done"};
  s.operation = op;
  return s;
}

TEST(SidecarStatus, RoundTrip) {
  struct Case {
    const char* name;
    std::function<void(SidecarStatus*)> change;
  };
  const Case cases[] = {
      {"everything set", [](SidecarStatus*) {}},
      {"defaults", [](SidecarStatus* s) { *s = SidecarStatus(); }},
      {"a primary (no standby part), no lag known",
       [](SidecarStatus* s) {
         s->postgres.role = "primary";
         s->postgres.standby.reset();
       }},
      {"a standby whose lag is unknown",
       [](SidecarStatus* s) { s->postgres.standby->replayLagBytes.reset(); }},
      {"not running, with an error",
       [](SidecarStatus* s) {
         s->postgres.running = false;
         s->postgres.role = "unknown";
         s->postgres.lastError = "connection refused";
         s->postgres.dataDirectoryInitialized = false;
         s->postgres.dataDirectoryRole = "";
       }},
      {"stopped, a primary's data directory (a self-fenced primary)",
       [](SidecarStatus* s) {
         s->postgres.running = false;
         s->postgres.role = "unknown";
         s->postgres.standby.reset();
         s->postgres.dataDirectoryRole = "primary";
       }},
      {"no fencer: the watchdog is disabled",
       [](SidecarStatus* s) {
         s->selfFence = SidecarSelfFence();
         s->selfFence.why =
             "the watchdog is disabled on this sidecar: an isolated primary is not fenced";
       }},
      {"Kubernetes, not fenced: fencedInTerm null",
       [](SidecarStatus* s) { s->selfFence.fencedInTerm.reset(); }},
      {"not Kubernetes: no fencedInTerm",
       [](SidecarStatus* s) {
         s->selfFence.fencedInTermShown = false;
         s->selfFence.fencedInTerm.reset();
       }},
      {"never fenced; a backend not checked yet",
       [](SidecarStatus* s) {
         s->selfFence.fencer->lastFence.reset();
         s->backends.push_back(s->backends[0]);
         s->backends[1].node = "demo-2";
         s->backends[1].lastCheck = "";  // not checked yet
       }},
      {"a postmaster still there after the fence",
       [](SidecarStatus* s) { s->selfFence.fencer->lastFence->stoppedAfterMs.reset(); }},
      {"a running operation: no method, no end, no error",
       [](SidecarStatus* s) {
         s->operation->state = "running";
         s->operation->method = "";
         s->operation->finishedAt = "";
         s->operation->error = "";
       }},
      {"a failed operation", [](SidecarStatus* s) { s->operation->error = "pg_rewind: exit 1"; }},
      {"no operation yet, no components",
       [](SidecarStatus* s) {
         s->operation.reset();
         s->components.clear();
       }},
      {"a term above the int64 range", [](SidecarStatus* s) { s->term = 18446744073709551615ull; }},
  };
  for (const Case& c : cases) {
    SidecarStatus s = Full();
    c.change(&s);
    const value json = ToJson(s);
    std::vector<std::string> notes;
    auto back = SidecarStatusFromJson(value::parse(json.serialize()), &notes);
    ASSERT_TRUE(back.ok()) << c.name << ": " << back.error();
    EXPECT_TRUE(*back == s) << c.name << "\n"
                            << json.serialize() << "\n"
                            << ToJson(*back).serialize();
    EXPECT_TRUE(notes.empty()) << c.name << ": " << notes.front();
  }
}

// The bytes the sidecar wrote before its status was a type here (assembled in
// agent_component.cc, probes.cc, postgres_parameters.cc, self_fence.cc,
// operations.cc and proxy_server.cc), read and written again unchanged.
TEST(SidecarStatus, WritesTheSameBytesAsBefore) {
  const char* bodies[] = {
      R"({"backends":[{"lastChange":"2026-12-06T16:59:00Z","lastCheck":"2026-12-06T17:00:01Z","lastError":"",)"
      R"("lsn":50331700,"node":"demo-0","receivedLsn":0,"replayLagBytes":0,"role":"primary","timeline":3,"up":true}],)"
      R"("components":{"proxy":{"clients":2,"inTransaction":0,"nodes":[{"loadBalance":true,"node":"demo-0",)"
      R"("role":"primary","selectCount":12,"status":"up"},{"loadBalance":false,"node":"demo-1","role":"standby",)"
      R"("selectCount":0,"status":"up","why":"lagging"}],"paused":false,"port":9999,"primary":"demo-0",)"
      R"("routingGeneration":9,"workerSessions":[1,1]},"watchdog":{"state":"STANDBY"}},"node":"demo-1",)"
      R"("operation":{"durationMs":4000,"error":null,"finishedAt":"2026-12-06T16:58:04Z","id":"op-3","log":[],)"
      R"("method":null,"progress":{"doneBytes":0,"percent":0,"totalBytes":0},"startedAt":"2026-12-06T16:58:00Z",)"
      R"("state":"succeeded","step":"","term":6,"type":"promote"},)"
      R"("postgres":{"dataDirectoryInitialized":true,"lsn":50331648,"parameters":{"count":0,"errors":[],)"
      R"("file":"/d/pgvigil.conf","included":true,"lastApplied":"","lastError":"","pendingRestart":[],"setAside":[]},)"
      R"("receivedLsn":50331700,"replayLagBytes":null,"role":"standby","running":true,"timeline":3,)"
      R"("upstreamHost":"demo-0","upstreamPort":5432,"walReceiver":"streaming"},)"
      R"("selfFence":{"enabled":true,"fenced":false,"fencedInTerm":null,"fences":0,"lastFence":null,)"
      R"("leaseHeld":true,"leaseRequired":true},"term":7})",
      R"({"backends":[],"components":{},"node":"n","operation":null,"postgres":{"dataDirectoryInitialized":false,)"
      R"("lastError":"connection refused","lsn":0,"parameters":{"count":1,"errors":[{"error":"bad","name":"a"}],)"
      R"("file":"f","included":false,"lastApplied":"x","lastError":"y","pendingRestart":["b"],)"
      R"("setAside":[{"name":"c","reason":"r","value":"v"}]},"role":"unknown","running":false,"timeline":0},)"
      R"("selfFence":{"enabled":false,"why":"the watchdog is disabled on this sidecar: an isolated primary is )"
      R"(not fenced"},"term":0})",
  };
  for (const char* body : bodies) {
    std::vector<std::string> notes;
    auto s = SidecarStatusFromJson(value::parse(body), &notes);
    ASSERT_TRUE(s.ok()) << s.error();
    EXPECT_EQ(ToJson(*s).serialize(), body);
    EXPECT_TRUE(notes.empty()) << notes.front();
    // The proxy's summary is a type of its own.
    auto proxy = s->components.find("proxy");
    if (proxy == s->components.end()) continue;
    EXPECT_EQ(ToJson(ProxySummaryFromJson(proxy->second, &notes)).serialize(),
              proxy->second.serialize());
    EXPECT_TRUE(notes.empty()) << notes.front();
  }
}

// What a sidecar of an older release sends: no dataDirectoryInitialized, no
// parameters.setAside, no selfFence.fencedInTerm, a proxy without a reason.
TEST(SidecarStatus, OlderSidecarReadsWithDefaults) {
  struct Case {
    const char* body;
    std::function<void(const SidecarStatus&)> check;
  };
  const Case cases[] = {
      {R"({"node": "a", "term": 2, "postgres": {"running": true, "role": "primary", "timeline": 1, "lsn": 5}})",
       [](const SidecarStatus& s) {
         EXPECT_TRUE(s.postgres.running);
         EXPECT_FALSE(s.postgres.dataDirectoryInitialized.has_value())
             << "the controller takes it as true";
         EXPECT_EQ(s.postgres.dataDirectoryRole, "") << "the controller takes it as unknown";
         EXPECT_FALSE(s.postgres.parameters.has_value());
         EXPECT_FALSE(s.postgres.standby.has_value());
         EXPECT_FALSE(s.selfFence.enabled);
         EXPECT_FALSE(s.selfFence.fencedInTermShown);
         EXPECT_FALSE(s.operation.has_value());
         EXPECT_TRUE(s.backends.empty());
         EXPECT_TRUE(s.components.empty());
       }},
      {R"({"postgres": {"running": false, "parameters": {"count": 2, "pendingRestart": ["shared_buffers"],
                                                          "errors": []}},
           "selfFence": {"enabled": true, "leaseRequired": false, "leaseHeld": true, "fenced": false, "fences": 0,
                         "lastFence": null}})",
       [](const SidecarStatus& s) {
         ASSERT_TRUE(s.postgres.parameters.has_value());
         EXPECT_EQ(s.postgres.parameters->pendingRestart,
                   std::vector<std::string>{"shared_buffers"});
         EXPECT_TRUE(s.postgres.parameters->setAside.empty());
         ASSERT_TRUE(s.selfFence.fencer.has_value());
         EXPECT_FALSE(s.selfFence.fencer->lastFence.has_value());
         EXPECT_FALSE(s.selfFence.fencedInTermShown);
         EXPECT_FALSE(s.selfFence.fencedInTerm.has_value());
       }},
      {R"({"postgres": {}, "operation": {"id": "op-1", "type": "stop", "progress": {"percent": 40}},
           "backends": [{"node": "b", "up": false}]})",
       [](const SidecarStatus& s) {
         ASSERT_TRUE(s.operation.has_value());
         EXPECT_EQ(s.operation->state, "") << "no state: not running";
         EXPECT_EQ(s.operation->percent, 40);
         EXPECT_EQ(s.operation->method, "");
         ASSERT_EQ(s.backends.size(), 1u);
         EXPECT_EQ(s.backends[0].lastCheck, "") << "no vote";
       }},
      {R"({"postgres": {"running": true}, "components": {"proxy": {"routingGeneration": 4, "paused": true}}})",
       [](const SidecarStatus& s) {
         const ProxySummary p = ProxySummaryFromJson(s.components.at("proxy"));
         EXPECT_EQ(p.routingGeneration, 4u);
         EXPECT_TRUE(p.paused);
         EXPECT_EQ(p.inTransaction, 0);
         EXPECT_FALSE(p.noPrimaryReason.has_value());
       }},
  };
  for (const Case& c : cases) {
    std::vector<std::string> notes;
    auto s = SidecarStatusFromJson(value::parse(c.body), &notes);
    ASSERT_TRUE(s.ok()) << c.body << ": " << s.error();
    c.check(*s);
    EXPECT_TRUE(notes.empty()) << c.body << ": " << notes.front();
  }
}

// A field of another type reads as its default, as the controller has always
// read it, and the note names it; only a body without "postgres" is refused.
TEST(SidecarStatus, WrongTypesReadAsDefaultsAndAreNamed) {
  struct Case {
    const char* body;
    const char* note;  // the one note expected
    std::function<void(const SidecarStatus&)> check;
  };
  const Case cases[] = {
      {R"({"postgres": {"running": "yes"}})", "postgres.running: not true or false",
       [](const SidecarStatus& s) { EXPECT_FALSE(s.postgres.running); }},
      {R"({"postgres": 3})", "postgres: not an object",
       [](const SidecarStatus& s) { EXPECT_EQ(s.postgres, SidecarPostgres()); }},
      {R"({"postgres": {"dataDirectoryInitialized": "no"}})",
       "postgres.dataDirectoryInitialized: not true or false",
       [](const SidecarStatus& s) {
         EXPECT_EQ(s.postgres.dataDirectoryInitialized, std::optional<bool>(true));
       }},
      {R"({"postgres": {"running": false, "dataDirectoryRole": true}})",
       "postgres.dataDirectoryRole: not a string",
       [](const SidecarStatus& s) { EXPECT_EQ(s.postgres.dataDirectoryRole, ""); }},
      {R"({"postgres": {}, "term": "seven"})", "term: not an integer",
       [](const SidecarStatus& s) { EXPECT_EQ(s.term, 0u); }},
      {R"({"postgres": {}, "term": "7"})", nullptr,  // digits in a string, as terms go elsewhere
       [](const SidecarStatus& s) { EXPECT_EQ(s.term, 7u); }},
      {R"({"postgres": {}, "term": -2})", "term: negative",
       [](const SidecarStatus& s) { EXPECT_EQ(s.term, 0u); }},
      {R"({"postgres": {}, "selfFence": {"enabled": true, "fencedInTerm": "soon"}})",
       "selfFence.fencedInTerm: not an integer",
       [](const SidecarStatus& s) {
         EXPECT_TRUE(s.selfFence.fencedInTermShown);
         EXPECT_FALSE(s.selfFence.fencedInTerm.has_value()) << "read as not fenced";
       }},
      {R"({"postgres": {"parameters": {"pendingRestart": "shared_buffers"}}})",
       "postgres.parameters.pendingRestart: not a list",
       [](const SidecarStatus& s) { EXPECT_TRUE(s.postgres.parameters->pendingRestart.empty()); }},
      {R"({"postgres": {"parameters": {"pendingRestart": ["a", 1, "b"]}}})",
       "postgres.parameters.pendingRestart[1]: not a string; left out",
       [](const SidecarStatus& s) {
         EXPECT_EQ(s.postgres.parameters->pendingRestart, (std::vector<std::string>{"a", "b"}));
       }},
      {R"({"postgres": {"parameters": {"setAside": ["work_mem"]}}})",
       "postgres.parameters.setAside[0]: not an object; left out",
       [](const SidecarStatus& s) { EXPECT_TRUE(s.postgres.parameters->setAside.empty()); }},
      {R"({"postgres": {}, "backends": [{"node": "a", "up": "true", "lastCheck": "t"}, {"node": "b", "up": true}]})",
       "backends[0].up: not true or false; left out",
       [](const SidecarStatus& s) {
         ASSERT_EQ(s.backends.size(), 1u) << "no vote either way";
         EXPECT_EQ(s.backends[0].node, "b");
       }},
      {R"({"postgres": {}, "operation": "busy"})", "operation: not an object",
       [](const SidecarStatus& s) { EXPECT_FALSE(s.operation.has_value()); }},
      {R"({"postgres": {}, "operation": {"type": "stop", "progress": {"percent": "half"}}})",
       "operation.progress.percent: not an integer",
       [](const SidecarStatus& s) { EXPECT_EQ(s.operation->percent, 0); }},
      {R"({"postgres": {}, "components": []})", "components: not an object",
       [](const SidecarStatus& s) { EXPECT_TRUE(s.components.empty()); }},
  };
  for (const Case& c : cases) {
    std::vector<std::string> notes;
    auto s = SidecarStatusFromJson(value::parse(c.body), &notes);
    ASSERT_TRUE(s.ok()) << c.body << ": " << s.error();
    c.check(*s);
    if (c.note)
      EXPECT_EQ(notes, std::vector<std::string>{c.note}) << c.body;
    else
      EXPECT_TRUE(notes.empty()) << c.body << ": " << notes.front();
  }
  // The proxy's summary, as the controller reads it.
  std::vector<std::string> notes;
  const ProxySummary p =
      ProxySummaryFromJson(value::parse(R"({"paused": 1, "inTransaction": 2})"), &notes);
  EXPECT_FALSE(p.paused);
  EXPECT_EQ(p.inTransaction, 2);
  EXPECT_EQ(notes, std::vector<std::string>{"components.proxy.paused: not true or false"});
  // Not a sidecar status at all.
  for (const char* body : {R"({"error": "x"})", "[]", R"("postgres")"})
    EXPECT_EQ(SidecarStatusFromJson(value::parse(body)).error(),
              "sidecar status has no 'postgres' section")
        << body;
}

}  // namespace
}  // namespace pgvigil
