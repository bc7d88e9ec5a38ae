// The cluster-state document (common/cluster_state_doc.h): round trip through
// both readers, the bytes the controller wrote before the document was a type
// here, an older or partial document, wrong types read as defaults and named
// (tolerant) or refused with the field named (strict).
#include "common/cluster_state_doc.h"

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

using web::json::value;

ClusterStateDoc Switchover() {
  ClusterStateDoc d;
  d.version = 42;
  d.primary = "demo-1";
  d.timeline = 3;
  d.routingGeneration = 11;
  d.routedPrimary = "demo-1";
  d.routedStandbys = {"demo-0", "demo-2"};
  d.routedWeights = {1, 5};
  d.synchronousStandbys = {"demo-2"};
  d.synchronousCount = 1;
  d.syncShrinkLsn = 90000000000;
  d.fenced = {"demo-0"};
  d.switchoverBackoffUntil = 1764111222222;
  d.transition = ClusterStateTransitionDoc{2, "demo-0", "demo-1", 2, 1764111111111, 89999999000};
  return d;
}

// What controller/act/state_codec.cc wrote for that state before this type
// (EncodeClusterState, keys sorted by cpprest); StateCodec.WritesTheSameBytesAsBefore
// (controller_unit_test) checks the controller's encoder against the same bytes.
constexpr const char* kSwitchoverBytes =
    R"({"bo":1764111222222,"de":[],"f":1,"fe":["demo-0"],"p":"demo-1","rg":11,"rp":"demo-1",)"
    R"("rs":["demo-0","demo-2"],"rw":[1,5],"sc":1,"sl":90000000000,"ss":["demo-2"],"tl":3,)"
    R"("tr":{"at":1764111111111,"fr":"demo-0","k":2,"sl":89999999000,"st":2,"to":"demo-1"},"v":42})";

TEST(ClusterStateDoc, RoundTrip) {
  ClusterStateDoc failover = Switchover();
  failover.transition->kind = 1;
  failover.transition->step = 3;
  failover.routedWeights.clear();
  ClusterStateDoc huge;
  huge.version = 18446744073709551615ull;
  huge.routingGeneration = 18446744073709551615ull;
  huge.switchoverBackoffUntil = -1;
  for (const ClusterStateDoc& d : {Switchover(), failover, huge, ClusterStateDoc()}) {
    const value wire = value::parse(ToJson(d).serialize());
    auto strict = ClusterStateDocFromJsonStrict(wire);
    ASSERT_TRUE(strict.ok()) << strict.error();
    EXPECT_TRUE(*strict == d) << ToJson(*strict).serialize();
    std::vector<std::string> notes;
    EXPECT_TRUE(ClusterStateDocFromJson(wire, &notes) == d) << wire.serialize();
    EXPECT_TRUE(notes.empty()) << notes.front();
  }
}

TEST(ClusterStateDoc, WritesTheSameBytesAsBefore) {
  EXPECT_EQ(ToJson(Switchover()).serialize(), kSwitchoverBytes);
  std::vector<std::string> notes;
  const ClusterStateDoc d = ClusterStateDocFromJson(value::parse(kSwitchoverBytes), &notes);
  EXPECT_TRUE(notes.empty()) << notes.front();
  EXPECT_EQ(ToJson(d).serialize(), kSwitchoverBytes);
  auto strict = ClusterStateDocFromJsonStrict(value::parse(kSwitchoverBytes));
  ASSERT_TRUE(strict.ok()) << strict.error();
  EXPECT_EQ(ToJson(*strict).serialize(), kSwitchoverBytes);
  // A state with nothing routed yet: no "rw", no "tr".
  EXPECT_EQ(ToJson(ClusterStateDoc()).serialize(),
            R"({"bo":0,"de":[],"f":1,"fe":[],"p":"","rg":0,"rp":"","rs":[],"sc":0,"sl":0,"ss":[],"tl":0,"v":0})");
}

TEST(ClusterStateDoc, OlderDocumentReadsWithDefaults) {
  for (const char* body : {R"({"f": 1})", R"({"f": 1, "rg": 4, "rp": "demo-0"})",
                           R"({"f": 1, "tr": {"k": 0, "fr": "demo-0"}})"}) {
    std::vector<std::string> notes;
    const ClusterStateDoc d = ClusterStateDocFromJson(value::parse(body), &notes);
    EXPECT_TRUE(notes.empty()) << body << ": " << notes.front();
    EXPECT_FALSE(d.transition) << body;  // kind 0 is no transition
    EXPECT_TRUE(d.fenced.empty()) << body;
    auto strict = ClusterStateDocFromJsonStrict(value::parse(body));
    ASSERT_TRUE(strict.ok()) << body << ": " << strict.error();
    EXPECT_TRUE(*strict == d) << body;
  }
  // Never written: the empty state for the controller.
  auto never = ClusterStateDocFromJsonStrict(value::null());
  ASSERT_TRUE(never.ok());
  EXPECT_TRUE(*never == ClusterStateDoc());
}

TEST(ClusterStateDoc, WrongTypesReadAsDefaultsAndAreNamed) {
  struct Case {
    const char* body;
    const char* note;
  };
  const Case cases[] = {
      {R"({"f": 1, "rg": "x", "rp": "demo-0"})", "rg: not an integer"},
      {R"({"f": 1, "rg": 1e300})", "rg: not an integer"},  // no unchecked cast
      {R"({"f": 1, "rg": -1})", "rg: negative"},
      {R"({"f": 1, "rp": 5})", "rp: not a string"},
      {R"({"f": 1, "fe": "demo-0"})", "fe: not a list"},
      {R"({"f": 1, "fe": [7]})", "fe[0]: not a string; left out"},
      {R"({"f": 1, "rw": ["x"]})", "rw[0]: not an integer; left out"},
      {R"({"f": 1, "rw": [3000000000]})", "rw[0]: not an integer; left out"},
      {R"({"f": 1, "tr": 5})", "tr: not an object"},
      {R"({"f": 1, "tr": {"k": 7, "fr": "demo-0"}})", "tr.k: not a transition kind"},
      {R"({"f": 1, "tr": {"k": 1, "st": 9}})", "tr.st: not a transition step"},
      {R"({"f": "one"})", "f: not an integer"},
      {R"([])", ": not an object"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> notes;
    const ClusterStateDoc d = ClusterStateDocFromJson(value::parse(c.body), &notes);
    ASSERT_EQ(notes.size(), 1u) << c.body;
    EXPECT_EQ(notes[0].rfind(c.note, 0), 0u) << c.body << ": " << notes[0];
    EXPECT_EQ(d.routingGeneration, 0u) << c.body;
    EXPECT_TRUE(d.fenced.empty() && d.routedWeights.empty()) << c.body;
  }
  // The other fields are read still.
  std::vector<std::string> notes;
  EXPECT_EQ(ClusterStateDocFromJson(value::parse(cases[0].body), &notes).routedPrimary, "demo-0");
}

TEST(ClusterStateDoc, StrictReaderRefusesNamingTheField) {
  struct Case {
    const char* body;
    const char* error;
  };
  const Case cases[] = {
      {R"({"f": 2, "p": "a"})", "cluster state format 2 is not the supported 1"},
      {R"({"p": "a"})", "cluster state format 0 is not the supported 1"},
      {R"({"f": "1"})", "cluster state field 'f' is not an integer"},
      {R"({"f": 1, "rg": "7"})", "cluster state field 'rg' is not an unsigned integer"},
      {R"({"f": 1, "rg": 7.5})", "cluster state field 'rg' is not an unsigned integer"},
      {R"({"f": 1, "rg": 1e300})", "cluster state field 'rg' is not an unsigned integer"},
      {R"({"f": 1, "rp": null})", "cluster state field 'rp' is not a string"},
      {R"({"f": 1, "fe": ["a", 1]})", "cluster state field 'fe[1]' is not a string"},
      {R"({"f": 1, "fe": {}})", "cluster state field 'fe' is not a list"},
      {R"({"f": 1, "rw": ["x"]})", "cluster state field 'rw[0]' is not an integer"},
      {R"({"f": 1, "rw": [3000000000]})", "cluster state field 'rw[0]' is not an integer"},
      {R"({"f": 1, "bo": 1.5})", "cluster state field 'bo' is not an integer"},
      {R"({"f": 1, "tr": 5})", "cluster state field 'tr' is not an object"},
      {R"({"f": 1, "tr": null})", "cluster state field 'tr' is not an object"},
      {R"({"f": 1, "tr": {"k": 3}})", "cluster state field 'tr.k' is not a transition kind (0..2)"},
      {R"({"f": 1, "tr": {"k": 1, "st": 4}})", "cluster state field 'tr.st' is not a transition step (0..3)"},
      {R"({"f": 1, "tr": {"k": 1, "sl": -1}})", "cluster state field 'tr.sl' is not an unsigned integer"},
      {R"([])", "cluster state is not an object"},
  };
  for (const Case& c : cases) {
    auto d = ClusterStateDocFromJsonStrict(value::parse(c.body));
    ASSERT_FALSE(d.ok()) << c.body;
    EXPECT_EQ(d.error(), c.error) << c.body;
  }
}

}  // namespace
}  // namespace pgvigil
