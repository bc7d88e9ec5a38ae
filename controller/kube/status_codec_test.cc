// plan::ClusterState <-> PostgresCluster status fields (status_codec.h):
// the round trip of every field, what other writers' fields become, and one
// row per malformed field with the error that names it. Pure.
#include <gtest/gtest.h>

#include "controller/kube/status_codec.h"

namespace pgvigil::kube {
namespace {

using web::json::value;

plan::ClusterState Full() {
  plan::ClusterState s;
  s.version = 42;
  s.primary = "demo-1";
  s.timeline = 7;
  s.routingGeneration = 19;
  s.routedPrimary = "demo-1";
  s.routedStandbys = {"demo-0", "demo-2"};
  s.routedWeights = {1, 3};
  s.synchronousStandbys = {"demo-2"};
  s.synchronousCount = 1;
  s.syncShrinkLsn = 0x3000060;
  s.fenced = {"demo-0"};
  s.detached = {"demo-4"};
  s.switchoverBackoffUntil = 123456;
  s.transition.kind = plan::TransitionKind::kSwitchover;
  s.transition.from = "demo-1";
  s.transition.to = "demo-2";
  s.transition.step = plan::TransitionStep::kStopping;
  s.transition.startedAt = 99000;
  s.transition.stopLsn = 0x4000000;
  return s;
}

TEST(StatusCodec, EveryFieldRoundTripsAndOtherWritersFieldsStay) {
  value status = value::parse(R"({"phase":"Healthy","conditions":[{"type":"Ready","status":"True"}]})");
  EncodeStatusState(Full(), 9, &status);
  EXPECT_EQ(status.at("phase").as_string(), "Healthy");
  EXPECT_EQ(status.at("conditions").size(), 1u);
  EXPECT_EQ(status.at("term").as_number().to_uint64(), 9u);
  EXPECT_EQ(status.at("currentPrimary").as_string(), "demo-1");
  EXPECT_EQ(status.at("targetPrimary").as_string(), "demo-2");  // the transition's target
  EXPECT_EQ(status.at("transition").at("kind").as_string(), "Switchover");
  EXPECT_EQ(status.at("transition").at("step").as_string(), "Stopping");
  auto back = DecodeStatusState(value::parse(status.serialize()));  // through text, as on the wire
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back->term, 9u);
  EXPECT_TRUE(back->state == Full());
}

TEST(StatusCodec, NoTransitionRemovesTheOldOneAndTargetsTheCurrentPrimary) {
  value status = value::null();
  EncodeStatusState(Full(), 3, &status);
  plan::ClusterState done = Full();
  done.transition = plan::Transition{};
  done.primary = "demo-2";
  EncodeStatusState(done, 3, &status);
  EXPECT_FALSE(status.has_field("transition"));
  EXPECT_EQ(status.at("targetPrimary").as_string(), "demo-2");
  auto back = DecodeStatusState(status);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_TRUE(back->state == done);
}

// The manually fenced primary a controller stopped: beside the state, kept by
// state writes, read back with or without a state, cleared by "".
TEST(StatusCodec, TheFencedPrimaryIsKeptBesideTheStateAndCleared) {
  value status = value::null();
  EncodeFencedPrimary("demo-0", &status);
  auto alone = DecodeStatusState(status);
  ASSERT_TRUE(alone.ok()) << alone.error();
  EXPECT_EQ(alone->fencedPrimary, "demo-0");
  EXPECT_TRUE(alone->state == plan::ClusterState{});
  EncodeStatusState(Full(), 4, &status);  // a state write leaves it
  auto both = DecodeStatusState(value::parse(status.serialize()));
  ASSERT_TRUE(both.ok()) << both.error();
  EXPECT_EQ(both->fencedPrimary, "demo-0");
  EXPECT_TRUE(both->state == Full());
  EncodeFencedPrimary("", &status);
  EXPECT_FALSE(status.has_field("fencedPrimary"));
  EXPECT_EQ(DecodeStatusState(status)->fencedPrimary, "");
}

TEST(StatusCodec, AStatusWithoutStateIsAnEmptyStateWithItsTerm) {
  struct Case {
    const char* status;
    uint64_t term;
  } cases[] = {{"null", 0}, {"{}", 0}, {R"({"phase":"Creating"})", 0}, {R"({"term":12,"phase":"Creating"})", 12}};
  for (const auto& c : cases) {
    auto r = DecodeStatusState(value::parse(c.status));
    ASSERT_TRUE(r.ok()) << c.status << ": " << r.error();
    EXPECT_EQ(r->term, c.term) << c.status;
    EXPECT_TRUE(r->state == plan::ClusterState{}) << c.status;
  }
}

TEST(StatusCodec, MalformedFieldsAreRefusedByName) {
  struct Case {
    const char* status;
    const char* error;
  } cases[] = {
      {R"([])", "status: not an object"},
      {R"({"term":-1})", "status.term: not a non-negative integer"},
      {R"({"term":"3"})", "status.term: not a non-negative integer"},
      {R"({"stateFormat":2})", "status.stateFormat: 2 is not the supported 1"},
      {R"({"stateFormat":1,"stateVersion":1.5})", "status.stateVersion: not a non-negative integer"},
      {R"({"stateFormat":1,"currentPrimary":7})", "status.currentPrimary: not a string"},
      {R"({"stateFormat":1,"timeline":5000000000})", "status.timeline: out of range"},
      {R"({"stateFormat":1,"fenced":"demo-0"})", "status.fenced: not a list"},
      {R"({"stateFormat":1,"fenced":["demo-0",1]})", "status.fenced[1]: not a string"},
      {R"({"stateFormat":1,"routedWeights":[1,"x"]})", "status.routedWeights[1]: not an integer"},
      {R"({"stateFormat":1,"synchronousCount":-2})", "status.synchronousCount: out of range"},
      {R"({"stateFormat":1,"transition":"x"})", "status.transition: not an object"},
      {R"({"fencedPrimary":["demo-0"]})", "status.fencedPrimary: not a string"},
      {R"({"stateFormat":1,"transition":{"kind":"Rollback","step":"Fencing"}})",
       "status.transition.kind: 'Rollback' is not Failover or Switchover"},
      {R"({"stateFormat":1,"transition":{"kind":"Failover","step":"Waiting"}})",
       "status.transition.step: 'Waiting' is not Fencing, Paused, Stopping or Promoting"},
      {R"({"stateFormat":1,"transition":{"kind":"Failover","step":"Fencing","stopLsn":-5}})",
       "status.transition.stopLsn: not a non-negative integer"},
  };
  for (const auto& c : cases) {
    auto r = DecodeStatusState(value::parse(c.status));
    ASSERT_FALSE(r.ok()) << c.status;
    EXPECT_EQ(r.error(), c.error) << c.status;
  }
}

}  // namespace
}  // namespace pgvigil::kube
