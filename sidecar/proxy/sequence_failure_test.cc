// The message that fails a client's sequence on a backend, and how its answer
// is told from an error of the client's own statements.
#include "sidecar/proxy/sequence_failure.h"

#include <gtest/gtest.h>

#include "sidecar/proxy/wire_decoder.h"

namespace pgvigil::proxy {
namespace {

TEST(SequenceFailureTest, IsOneDescribeOfTheProxysStatementName) {
  std::string s;
  AppendSequenceFailure(&s);
  WireDecoder d(Direction::kFrontend);
  d.StartMessages();
  Frame f;
  ASSERT_EQ(d.Next(reinterpret_cast<const uint8_t*>(s.data()), s.size(), &f), DecodeStatus::kFrame);
  EXPECT_EQ(f.type, 'D');
  EXPECT_EQ(f.size, s.size());  // one message, nothing after it
  TargetMsg m;
  ASSERT_TRUE(ParseDescribeOrClose(f, &m));
  EXPECT_EQ(m.kind, 'S');
  EXPECT_EQ(m.name, kSequenceFailureName);
}

TEST(SequenceFailureTest, RecognizesOnlyItsOwnAnswer) {
  const std::string name = kSequenceFailureName;
  EXPECT_TRUE(IsSequenceFailure({"ERROR", "26000", "prepared statement \"" + name + "\" does not exist"}));
  // A translated message keeps the name.
  EXPECT_TRUE(IsSequenceFailure({"FEHLER", "26000", "vorbereitete Anweisung »" + name + "« existiert nicht"}));
  // The client's own statements failing: relayed, never absorbed.
  EXPECT_FALSE(IsSequenceFailure({"ERROR", "26000", "prepared statement \"s1\" does not exist"}));
  EXPECT_FALSE(IsSequenceFailure({"ERROR", "42601", "syntax error at or near \"" + name + "\""}));
  EXPECT_FALSE(IsSequenceFailure({"ERROR", "22012", "division by zero"}));
}

}  // namespace
}  // namespace pgvigil::proxy
