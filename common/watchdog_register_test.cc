// /v1/watchdog/register contract: bodies round trip (struct -> JSON -> struct),
// the bytes the agent and the controller wrote before the contract came here
// are written again, a body lacking fields reads with its defaults, and a field
// of another type reads as its default and is named.
#include "common/watchdog_register.h"

#include <gtest/gtest.h>

#include <functional>

namespace pgvigil {
namespace {

using web::json::value;

// The state document the controller stores (controller/act/state_codec.cc: short keys).
value Doc() { return value::parse(R"({"v":1,"rg":5,"rp":"demo-1","fe":["demo-0"],"tl":3})"); }

TEST(WatchdogRegister, RoundTrip) {
  struct Case {
    const char* name;
    WatchdogRegisterValue value;
  };
  const Case values[] = {
      {"never written", {}},
      {"durable on the leader", {4, 7, Doc(), true}},
      {"a follower's copy", {4, 6, Doc(), false}},
      {"a term above the int64 range", {18446744073709551615ull, 1, value::object(), false}},
  };
  for (const Case& c : values) {
    std::vector<std::string> notes;
    auto back = WatchdogRegisterValueFromJson(value::parse(ToJson(c.value).serialize()), &notes);
    ASSERT_TRUE(back.ok()) << c.name << ": " << back.error();
    EXPECT_TRUE(*back == c.value) << c.name << ": " << ToJson(*back).serialize();
    EXPECT_TRUE(notes.empty()) << c.name << ": " << notes.front();
  }
  for (uint64_t version : {0ull, 1ull, 18446744073709551615ull}) {
    std::vector<std::string> notes;
    auto back = WatchdogRegisterWrittenFromJson(value::parse(ToJson(WatchdogRegisterWritten{version}).serialize()),
                                                &notes);
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(back->version, version);
    EXPECT_TRUE(notes.empty()) << notes.front();
  }
}

// The bytes written before the bodies were types here: the agent's GET and PUT
// answers (sidecar/agent/peer_handlers.cc) and the controller's PUT requests
// (controller/vm_leadership.cc without timeoutMs, kube/register_mirror.cc with).
TEST(WatchdogRegister, WritesTheSameBytesAsBefore) {
  const char* values[] = {
      R"({"doc":{"fe":["demo-0"],"rg":5,"rp":"demo-1","tl":3,"v":1},"durable":true,"term":4,"version":7})",
      R"({"doc":null,"durable":false,"term":0,"version":0})",
  };
  for (const char* body : values) {
    std::vector<std::string> notes;
    auto r = WatchdogRegisterValueFromJson(value::parse(body), &notes);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(ToJson(*r).serialize(), body);
    EXPECT_TRUE(notes.empty()) << notes.front();
  }
  auto written = WatchdogRegisterWrittenFromJson(value::parse(R"({"version":7})"));
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(ToJson(*written).serialize(), R"({"version":7})");

  struct Write {
    WatchdogRegisterWrite write;
    const char* bytes;
  };
  const Write writes[] = {
      {{4, Doc(), std::nullopt}, R"({"doc":{"fe":["demo-0"],"rg":5,"rp":"demo-1","tl":3,"v":1},"term":4})"},
      {{9, value::object(), 5000}, R"({"doc":{},"term":9,"timeoutMs":5000})"},
  };
  for (const Write& w : writes) EXPECT_EQ(ToJson(w.write).serialize(), w.bytes);
}

// A body lacking fields (fixtures, a hand-written reply) reads with the
// defaults; only a body that is not an object or has no "version" is refused.
TEST(WatchdogRegister, OlderBodyReadsWithDefaults) {
  struct Case {
    const char* body;
    bool ok;
    WatchdogRegisterValue want;
  };
  const Case cases[] = {
      {R"({"version": 3})", true, {0, 3, value::null(), false}},
      {R"({"term": 2, "version": 3, "doc": {"v": 1}})", true, {2, 3, value::parse(R"({"v":1})"), false}},
      {R"({"term": 2, "version": 3, "durable": null, "doc": null})", true, {2, 3, value::null(), false}},
      {R"({"term": 2, "durable": true})", false, {}},
      {R"([])", false, {}},
      {R"("register")", false, {}},
  };
  for (const Case& c : cases) {
    std::vector<std::string> notes;
    auto r = WatchdogRegisterValueFromJson(value::parse(c.body), &notes);
    ASSERT_EQ(r.ok(), c.ok) << c.body;
    if (!c.ok) continue;
    EXPECT_TRUE(*r == c.want) << c.body << " -> " << ToJson(*r).serialize();
    EXPECT_TRUE(notes.empty()) << c.body << ": " << notes.front();
  }
  EXPECT_FALSE(WatchdogRegisterWrittenFromJson(value::parse("{}")).ok());
  EXPECT_FALSE(WatchdogRegisterWrittenFromJson(value::parse("null")).ok());
}

TEST(WatchdogRegister, WrongTypesReadAsDefaultsAndAreNamed) {
  struct Case {
    const char* body;
    const char* note;
    std::function<void(const WatchdogRegisterValue&)> check;
  };
  const Case cases[] = {
      {R"({"term": "x", "version": 3})", "term", [](const WatchdogRegisterValue& r) { EXPECT_EQ(r.term, 0u); }},
      {R"({"term": 2, "version": true})", "version",
       [](const WatchdogRegisterValue& r) { EXPECT_EQ(r.version, 0u); }},
      {R"({"term": 2, "version": -1})", "version",
       [](const WatchdogRegisterValue& r) { EXPECT_EQ(r.version, 0u); }},
      {R"({"term": 2, "version": 3, "durable": "yes"})", "durable",
       [](const WatchdogRegisterValue& r) { EXPECT_FALSE(r.durable); }},
      {R"({"term": "12", "version": "3"})", nullptr,
       [](const WatchdogRegisterValue& r) {
         EXPECT_EQ(r.term, 12u);  // integers in strings, as every tolerant reader here
         EXPECT_EQ(r.version, 3u);
       }},
  };
  for (const Case& c : cases) {
    std::vector<std::string> notes;
    auto r = WatchdogRegisterValueFromJson(value::parse(c.body), &notes);
    ASSERT_TRUE(r.ok()) << c.body;
    c.check(*r);
    if (!c.note) {
      EXPECT_TRUE(notes.empty()) << c.body << ": " << notes.front();
      continue;
    }
    ASSERT_EQ(notes.size(), 1u) << c.body;
    EXPECT_EQ(notes[0].rfind(c.note, 0), 0u) << notes[0];
  }
  std::vector<std::string> notes;
  auto w = WatchdogRegisterWrittenFromJson(value::parse(R"({"version": "seven"})"), &notes);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->version, 0u);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].rfind("version", 0), 0u) << notes[0];
}

}  // namespace
}  // namespace pgvigil
