// SetAsideRefused: which start spec a sidecar takes when the spec file or
// its stored copy still holds a value PostgreSQL refused.
#include "sidecar/agent/refused_parameters.h"

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

ClusterSpec WithParams(std::map<std::string, std::string> p) {
  ClusterSpec s;
  s.name = "demo";
  s.postgres.parameters = std::move(p);
  return s;
}

TEST(RefusedParameters, SetAsideRefused) {
  const RefusedParameters refused{7, 5, {{"TimeZone", "Mars/Olympus"}}};
  const StoredSpec stored{5, WithParams({{"work_mem", "4MB"}})};

  // The spec file (generation 7) still carries the refused value: the stored
  // copy's parameters, the generation held before the failed push.
  StartSpec from_file{WithParams({{"work_mem", "8MB"}, {"TimeZone", "Mars/Olympus"}}), 7, false, {}};
  auto aside = SetAsideRefused(&from_file, refused, stored);
  EXPECT_EQ(aside, std::vector<std::string>{"TimeZone='Mars/Olympus'"});
  EXPECT_EQ(from_file.spec.postgres.parameters, stored.spec.postgres.parameters);
  EXPECT_EQ(from_file.generation, 5u);
  // ... and kept for the status, with the value and why.
  ASSERT_EQ(from_file.setAside.size(), 1u);
  EXPECT_EQ(from_file.setAside[0].name, "TimeZone");
  EXPECT_EQ(from_file.setAside[0].value, "Mars/Olympus");
  EXPECT_EQ(from_file.setAside[0].reason, "PostgreSQL refused it in spec generation 7");

  // No stored copy: only the refused setting goes.
  StartSpec alone{WithParams({{"work_mem", "8MB"}, {"TimeZone", "Mars/Olympus"}}), 7, false, {}};
  SetAsideRefused(&alone, refused, std::nullopt);
  EXPECT_EQ(alone.spec.postgres.parameters, (std::map<std::string, std::string>{{"work_mem", "8MB"}}));
  EXPECT_EQ(alone.generation, 5u);

  // Another value of the same setting (fixed since): left alone.
  StartSpec fixed{WithParams({{"TimeZone", "UTC"}}), 9, false, {}};
  EXPECT_TRUE(SetAsideRefused(&fixed, refused, stored).empty());
  EXPECT_EQ(fixed.spec.postgres.parameters.at("TimeZone"), "UTC");
  EXPECT_EQ(fixed.generation, 9u);
  EXPECT_TRUE(fixed.setAside.empty());

  // A stored copy an older sidecar wrote with the value in it.
  StartSpec from_store{WithParams({{"TimeZone", "Mars/Olympus"}, {"work_mem", "4MB"}}), 7, true, {}};
  SetAsideRefused(&from_store, refused, StoredSpec{7, from_store.spec});
  EXPECT_EQ(from_store.spec.postgres.parameters, (std::map<std::string, std::string>{{"work_mem", "4MB"}}));
  EXPECT_EQ(from_store.generation, 5u);
}

}  // namespace
}  // namespace pgvigil
