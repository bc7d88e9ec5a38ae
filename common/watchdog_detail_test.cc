// GET /v1/watchdog and components.watchdog contract: documents round trip
// (struct -> JSON -> struct), the bytes the sidecar wrote before the contract
// came here are written again, a document from an older sidecar reads with its
// defaults, and a field of another type reads as its default and is named.
#include "common/watchdog_detail.h"

#include <gtest/gtest.h>

#include <functional>
#include <optional>

namespace pgvigil {
namespace {

using web::json::value;

WatchdogMember Member(const char* name, const char* state, bool self) {
  WatchdogMember m;
  m.name = name;
  m.host = std::string(name) + ".demo-hl";
  m.heartbeatPort = 9694;
  m.apiPort = 9898;
  m.proxyPort = 9999;
  m.state = state;
  m.self = self;
  m.term = 4;
  m.leader = "demo-1";
  m.lastHeardShown = true;
  m.lastHeardMs = self ? 0 : 120;
  if (self)
    m.ownLease = WatchdogOwnLease{true, 850};
  else
    m.contact = WatchdogPeerContact{false, std::string("10.0.0.10"), ""};
  return m;
}

WatchdogDetail Full() {
  WatchdogDetail d;
  d.node = "demo-1";
  d.state = "LEADER";
  d.term = 4;
  d.leader = "demo-1";
  d.quorum = true;
  d.vipHeld = true;
  d.leaderWithQuorum = true;
  d.writeLeaseRequired = true;
  d.vip = WatchdogVip{"10.77.0.150/24", "demo-1", true, ""};
  d.members = {Member("demo-0", "STANDBY", false), Member("demo-1", "LEADER", true),
               Member("demo-2", "STANDBY", false)};
  d.backends = {WatchdogBackend{"demo-0", 3, 0, 3, false}, WatchdogBackend{"demo-1", 3, 0, 3, false},
                WatchdogBackend{"demo-2", 1, 2, 3, true}};
  d.reg.term = 4;
  d.reg.version = 7;
  d.reg.durableVersion = 7;
  d.reg.doc = value::parse(R"({"primary": "demo-1", "routingGeneration": 5, "fenced": []})");
  return d;
}

TEST(WatchdogDetail, RoundTrip) {
  struct Case {
    const char* name;
    std::function<void(WatchdogDetail*)> change;
  };
  const Case cases[] = {
      {"a leader with a VIP and a register", [](WatchdogDetail*) {}},
      {"defaults", [](WatchdogDetail* d) { *d = WatchdogDetail(); }},
      {"a standby without a VIP, no register written yet",
       [](WatchdogDetail* d) {
         d->state = "STANDBY";
         d->leaderWithQuorum = false;
         d->vipHeld = false;
         d->vip = WatchdogVip();
         d->reg = WatchdogRegister();
       }},
      {"no leader, no quorum",
       [](WatchdogDetail* d) {
         d->state = "CANDIDATE";
         d->leader = "";
         d->quorum = false;
         d->vip.holder = "";
       }},
      {"a member never heard, its name not resolving",
       [](WatchdogDetail* d) {
         d->members[2].state = "LOST";
         d->members[2].lastHeardMs.reset();
         d->members[2].contact = WatchdogPeerContact{true, std::nullopt, "Host not found"};
       }},
      {"no write lease required (one or two members)",
       [](WatchdogDetail* d) {
         d->writeLeaseRequired = false;
         d->members[1].ownLease = WatchdogOwnLease{true, -1};
       }},
      {"an older sidecar: no write leases, no addresses",
       [](WatchdogDetail* d) {
         for (auto& m : d->members) {
           m.ownLease.reset();
           m.contact.reset();
         }
       }},
      {"no lastHeardMs at all",
       [](WatchdogDetail* d) {
         d->members[0].lastHeardShown = false;
         d->members[0].lastHeardMs.reset();
       }},
      {"another host answers for the VIP",
       [](WatchdogDetail* d) { d->vip.conflict = "10.77.0.150 answered by 52:54:00:12:34:56"; }},
      {"a term above the int64 range", [](WatchdogDetail* d) { d->term = 18446744073709551615ull; }},
  };
  for (const Case& c : cases) {
    WatchdogDetail d = Full();
    c.change(&d);
    const value json = ToJson(d);
    std::vector<std::string> notes;
    auto back = WatchdogDetailFromJson(value::parse(json.serialize()), &notes);
    ASSERT_TRUE(back.ok()) << c.name << ": " << back.error();
    EXPECT_TRUE(*back == d) << c.name << "\n"
                            << json.serialize() << "\n"
                            << ToJson(*back).serialize();
    EXPECT_TRUE(notes.empty()) << c.name << ": " << notes.front();
  }
  // The summary likewise.
  WatchdogSummary s;
  s.state = "STANDBY";
  s.term = 4;
  s.leader = "demo-1";
  s.quorum = true;
  s.members = {{"demo-0", "STANDBY"}, {"demo-1", "LEADER"}, {"demo-2", "LOST"}};
  for (const WatchdogSummary& x : {s, WatchdogSummary()}) {
    std::vector<std::string> notes;
    EXPECT_TRUE(WatchdogSummaryFromJson(value::parse(ToJson(x).serialize()), &notes) == x)
        << ToJson(x).serialize();
    EXPECT_TRUE(notes.empty()) << notes.front();
  }
}

// The bytes the sidecar wrote before its watchdog view was a type here
// (assembled in sidecar/watchdog/detail_json.cc and watchdog_service.cc), read
// and written again unchanged.
TEST(WatchdogDetail, WritesTheSameBytesAsBefore) {
  const char* details[] = {
      R"({"backends":[{"consensusDown":false,"down":0,"live":3,"node":"demo-0","up":3},)"
      R"({"consensusDown":true,"down":2,"live":3,"node":"demo-2","up":1}],"leader":"demo-1",)"
      R"("leaderWithQuorum":true,"members":[{"address":"10.0.0.10","addressError":"","apiPort":9898,)"
      R"("heartbeatPort":9694,"host":"demo-0.demo-hl","lastHeardMs":120,"leader":"demo-1","name":"demo-0",)"
      R"("proxyPort":9999,"self":false,"state":"STANDBY","term":4,"writeLeaseOver":false},)"
      R"({"apiPort":9898,"heartbeatPort":9694,"host":"demo-1.demo-hl","lastHeardMs":0,"leader":"demo-1",)"
      R"("name":"demo-1","proxyPort":9999,"self":true,"state":"LEADER","term":4,"writeLease":true,)"
      R"("writeLeaseRemainingMs":850},{"address":null,"addressError":"Host not found","apiPort":9898,)"
      R"("heartbeatPort":9694,"host":"demo-2.demo-hl","lastHeardMs":null,"leader":"","name":"demo-2",)"
      R"("proxyPort":9999,"self":false,"state":"LOST","term":0,"writeLeaseOver":true}],"node":"demo-1",)"
      R"("quorum":true,"register":{"doc":{"primary":"demo-1","version":5},"durableVersion":7,"term":4,)"
      R"("version":7},"state":"LEADER","term":4,"vip":{"address":"10.77.0.150/24","conflict":"",)"
      R"("heldHere":true,"holder":"demo-1"},"vipHeld":true,"writeLeaseRequired":true})",
      R"({"backends":[{"consensusDown":false,"down":0,"live":1,"node":"solo","up":1}],"leader":"solo",)"
      R"("leaderWithQuorum":true,"members":[{"apiPort":9898,"heartbeatPort":9694,"host":"127.0.0.1",)"
      R"("lastHeardMs":0,"leader":"solo","name":"solo","proxyPort":9999,"self":true,"state":"LEADER",)"
      R"("term":1,"writeLease":true,"writeLeaseRemainingMs":-1}],"node":"solo","quorum":true,)"
      R"("register":{"doc":null,"durableVersion":0,"term":0,"version":0},"state":"LEADER","term":1,)"
      R"("vip":{"address":"","conflict":"","heldHere":false,"holder":""},"vipHeld":false,)"
      R"("writeLeaseRequired":false})",
  };
  for (const char* body : details) {
    std::vector<std::string> notes;
    auto d = WatchdogDetailFromJson(value::parse(body), &notes);
    ASSERT_TRUE(d.ok()) << d.error();
    EXPECT_EQ(ToJson(*d).serialize(), body);
    EXPECT_TRUE(notes.empty()) << notes.front();
  }
  const char* summary =
      R"({"leader":"demo-1","members":{"demo-0":"STANDBY","demo-1":"LEADER","demo-2":"LOST"},)"
      R"("quorum":true,"state":"LEADER","term":4,"vipHeld":true})";
  std::vector<std::string> notes;
  EXPECT_EQ(ToJson(WatchdogSummaryFromJson(value::parse(summary), &notes)).serialize(), summary);
  EXPECT_TRUE(notes.empty()) << notes.front();
}

// What a sidecar of an older release sends: the first watchdog's detail (no
// write leases, no addresses, no vip.conflict, no writeLeaseRequired), and
// fixtures with only some fields.
TEST(WatchdogDetail, OlderSidecarReadsWithDefaults) {
  struct Case {
    const char* body;
    std::function<void(const WatchdogDetail&)> check;
  };
  const Case cases[] = {
      {R"({"state": "STANDBY", "term": 2, "leader": "a", "quorum": true, "vipHeld": false, "node": "b",
           "leaderWithQuorum": false, "vip": {"address": "", "holder": "", "heldHere": false},
           "members": [{"name": "a", "host": "h1", "heartbeatPort": 9694, "apiPort": 9898, "proxyPort": 9999,
                        "state": "LEADER", "self": false, "term": 2, "leader": "a", "lastHeardMs": 80},
                       {"name": "b", "host": "h2", "heartbeatPort": 9694, "apiPort": 9898, "proxyPort": 9999,
                        "state": "STANDBY", "self": true, "term": 2, "leader": "a", "lastHeardMs": 0}],
           "backends": [{"node": "a", "up": 2, "down": 0, "live": 2, "consensusDown": false}],
           "register": {"term": 2, "version": 1, "durableVersion": 0, "doc": {"primary": "a"}}})",
       [](const WatchdogDetail& d) {
         EXPECT_EQ(d.leader, "a");
         EXPECT_FALSE(d.writeLeaseRequired);
         EXPECT_EQ(d.vip.conflict, "");
         ASSERT_EQ(d.members.size(), 2u);
         EXPECT_FALSE(d.members[0].contact.has_value()) << "no write-lease report";
         EXPECT_FALSE(d.members[1].ownLease.has_value());
         EXPECT_EQ(d.members[0].lastHeardMs, std::optional<int64_t>(80));
         EXPECT_EQ(d.reg.doc.at("primary").as_string(), "a");
       }},
      {R"({"members": [{"name": "server2", "state": "STANDBY", "writeLeaseOver": false}]})",
       [](const WatchdogDetail& d) {
         ASSERT_EQ(d.members.size(), 1u);
         ASSERT_TRUE(d.members[0].contact.has_value());
         EXPECT_FALSE(d.members[0].contact->writeLeaseOver);
         EXPECT_FALSE(d.members[0].contact->address.has_value());
         EXPECT_FALSE(d.members[0].lastHeardShown) << "nothing may be concluded";
         EXPECT_TRUE(d.backends.empty());
         EXPECT_TRUE(d.reg.doc.is_null());
       }},
      {R"({"members": [{"name": "demo-2", "lastHeardMs": null}], "register": {"doc": null}})",
       [](const WatchdogDetail& d) {
         EXPECT_TRUE(d.members[0].lastHeardShown);
         EXPECT_FALSE(d.members[0].lastHeardMs.has_value()) << "never heard";
       }},
  };
  for (const Case& c : cases) {
    std::vector<std::string> notes;
    auto d = WatchdogDetailFromJson(value::parse(c.body), &notes);
    ASSERT_TRUE(d.ok()) << c.body << ": " << d.error();
    c.check(*d);
    EXPECT_TRUE(notes.empty()) << c.body << ": " << notes.front();
  }
  // An older summary: no vipHeld.
  const WatchdogSummary s =
      WatchdogSummaryFromJson(value::parse(R"({"state": "LEADER", "term": 3, "members": {"a": "LEADER"}})"));
  EXPECT_FALSE(s.vipHeld);
  EXPECT_EQ(s.term, 3u);
  EXPECT_EQ(s.members.at("a"), "LEADER");
}

// A field of another type reads as its default and the note names it; where
// the value is evidence for a failover, it is no evidence. Only a body that is
// no object or has no "members" is refused.
TEST(WatchdogDetail, WrongTypesReadAsDefaultsAndAreNamed) {
  struct Case {
    const char* body;
    const char* note;  // the one note expected
    std::function<void(const WatchdogDetail&)> check;
  };
  const Case cases[] = {
      {R"({"members": [], "quorum": "yes"})", "quorum: not true or false",
       [](const WatchdogDetail& d) { EXPECT_FALSE(d.quorum); }},
      {R"({"members": [], "term": "four"})", "term: not an integer",
       [](const WatchdogDetail& d) { EXPECT_EQ(d.term, 0u); }},
      {R"({"members": [], "term": "4"})", nullptr,  // digits in a string, as terms go elsewhere
       [](const WatchdogDetail& d) { EXPECT_EQ(d.term, 4u); }},
      {R"({"members": [], "leader": 1})", "leader: not a string",
       [](const WatchdogDetail& d) { EXPECT_EQ(d.leader, ""); }},
      {R"({"members": 3})", "members: not a list",
       [](const WatchdogDetail& d) { EXPECT_TRUE(d.members.empty()); }},
      {R"({"members": ["demo-0", {"name": "demo-1"}]})", "members[0]: not an object; left out",
       [](const WatchdogDetail& d) {
         ASSERT_EQ(d.members.size(), 1u);
         EXPECT_EQ(d.members[0].name, "demo-1");
       }},
      {R"({"members": [{"name": "demo-0", "lastHeardMs": "soon"}]})", "members[0].lastHeardMs: not an integer",
       [](const WatchdogDetail& d) {
         EXPECT_FALSE(d.members[0].lastHeardShown) << "not read as never heard";
       }},
      {R"({"members": [{"name": "demo-0", "writeLeaseOver": "yes", "address": "10.0.0.1"}]})",
       "members[0].writeLeaseOver: not true or false; no write-lease report",
       [](const WatchdogDetail& d) { EXPECT_FALSE(d.members[0].contact.has_value()); }},
      {R"({"members": [{"name": "demo-0", "writeLeaseOver": true, "address": 7}]})",
       "members[0].address: not a string",
       [](const WatchdogDetail& d) {
         ASSERT_TRUE(d.members[0].contact.has_value());
         EXPECT_TRUE(d.members[0].contact->writeLeaseOver);
         EXPECT_EQ(d.members[0].contact->address, std::optional<std::string>(""));
       }},
      {R"({"members": [{"heartbeatPort": "x"}]})", "members[0].heartbeatPort: not an integer",
       [](const WatchdogDetail& d) { EXPECT_EQ(d.members[0].heartbeatPort, 0); }},
      {R"({"members": [], "backends": [{"node": "demo-0", "down": "two"}]})", "backends[0].down: not an integer",
       [](const WatchdogDetail& d) { EXPECT_EQ(d.backends[0].down, 0); }},
      {R"({"members": [], "vip": "10.0.0.1"})", "vip: not an object",
       [](const WatchdogDetail& d) { EXPECT_EQ(d.vip, WatchdogVip()); }},
      {R"({"members": [], "register": {"version": -1}})", "register.version: negative",
       [](const WatchdogDetail& d) { EXPECT_EQ(d.reg.version, 0u); }},
  };
  for (const Case& c : cases) {
    std::vector<std::string> notes;
    auto d = WatchdogDetailFromJson(value::parse(c.body), &notes);
    ASSERT_TRUE(d.ok()) << c.body << ": " << d.error();
    c.check(*d);
    if (c.note)
      EXPECT_EQ(notes, std::vector<std::string>{c.note}) << c.body;
    else
      EXPECT_TRUE(notes.empty()) << c.body << ": " << notes.front();
  }
  // The summary, as the status shows it.
  std::vector<std::string> notes;
  const WatchdogSummary s = WatchdogSummaryFromJson(
      value::parse(R"({"quorum": 1, "members": {"a": "LEADER", "b": 2}})"), &notes);
  EXPECT_FALSE(s.quorum);
  EXPECT_EQ(s.members, (std::map<std::string, std::string>{{"a", "LEADER"}}));
  EXPECT_EQ(notes, (std::vector<std::string>{"components.watchdog.quorum: not true or false",
                                             "components.watchdog.members.b: not a string; left out"}));
  // Not a watchdog detail at all.
  for (const char* body : {R"({"error": "the watchdog is disabled on this node"})", "[]", "null"})
    EXPECT_EQ(WatchdogDetailFromJson(value::parse(body)).error(), "watchdog detail has no 'members' list")
        << body;
}

}  // namespace
}  // namespace pgvigil
