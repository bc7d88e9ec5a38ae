#include "sidecar/agent/operations.h"

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

TEST(AgentOperations, OneAtATime) {
  OperationRegistry reg;
  std::string running;
  auto a = reg.TryBegin("rebuild", 3, &running);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id().rfind("rebuild-", 0), 0u);
  auto b = reg.TryBegin("stop", 3, &running);
  EXPECT_FALSE(b);
  EXPECT_EQ(running, a->id());
  a->Finish(Status::Error("pg_basebackup killed by signal 9"));
  auto c = reg.TryBegin("rebuild", 3, &running);
  ASSERT_TRUE(c);
  EXPECT_NE(c->id(), a->id());
  EXPECT_EQ(reg.Find(a->id())->Snapshot().state, "failed");
  EXPECT_EQ(reg.Find(a->id())->Snapshot().error, "pg_basebackup killed by signal 9");
  EXPECT_EQ(reg.Latest(), c);
  EXPECT_FALSE(reg.Find("nope"));
}

TEST(AgentOperations, SnapshotJson) {
  Operation op("rebuild-1-abcd", "rebuild", 7);
  op.SetStep("basebackup");
  op.SetMethod("basebackup");
  op.SetProgress(512, 1024, 50);
  for (size_t i = 0; i < Operation::kLogTail + 10; ++i) op.Log("line " + std::to_string(i));
  auto v = op.Snapshot().ToJson();
  EXPECT_EQ(v.at("state").as_string(), "running");
  EXPECT_EQ(v.at("step").as_string(), "basebackup");
  EXPECT_EQ(v.at("progress").at("percent").as_integer(), 50);
  EXPECT_EQ(v.at("progress").at("totalBytes").as_integer(), 1024);
  EXPECT_EQ(v.at("term").as_integer(), 7);
  EXPECT_TRUE(v.at("finishedAt").is_null());
  ASSERT_EQ(v.at("log").as_array().size(), Operation::kLogTail);
  EXPECT_EQ(v.at("log").as_array().at(Operation::kLogTail - 1).as_string(),
            "line " + std::to_string(Operation::kLogTail + 9));
  op.Finish(Status::Ok());
  auto done = op.Snapshot().ToJson();
  EXPECT_EQ(done.at("state").as_string(), "succeeded");
  EXPECT_TRUE(done.at("error").is_null());
  EXPECT_FALSE(done.at("finishedAt").is_null());
  EXPECT_GE(done.at("durationMs").as_integer(), 0);
}

TEST(AgentOperations, KeepsRecentHistory) {
  OperationRegistry reg;
  std::string running;
  std::string first;
  for (size_t i = 0; i < OperationRegistry::kKeep + 5; ++i) {
    auto op = reg.TryBegin("start", 1, &running);
    ASSERT_TRUE(op);
    if (i == 0) first = op->id();
    op->Finish(Status::Ok());
  }
  EXPECT_EQ(reg.Recent().size(), OperationRegistry::kKeep);
  EXPECT_FALSE(reg.Find(first));
}

}  // namespace
}  // namespace pgvigil
