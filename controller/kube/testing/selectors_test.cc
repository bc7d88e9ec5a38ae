// Label and field selector grammar (working-with-objects/labels: equality- and
// set-based requirements, comma = AND) and matching.
#include "controller/kube/testing/selectors.h"

#include <gtest/gtest.h>

namespace pgvigil::kube::fake {
namespace {

TEST(SelectorTest, LabelRequirements) {
  std::map<std::string, std::string> pod = {{"pgvigil.io/cluster", "demo"}, {"pgvigil.io/role", "primary"}};
  const std::pair<const char*, bool> kCases[] = {
      {"", true},
      {"pgvigil.io/cluster=demo", true},
      {"pgvigil.io/cluster == demo", true},
      {"pgvigil.io/cluster=other", false},
      {"pgvigil.io/role!=replica", true},
      {"pgvigil.io/pool!=true", true},
      {"pgvigil.io/role in (primary, replica)", true},
      {"pgvigil.io/role in (replica)", false},
      {"pgvigil.io/role notin (fenced,unrouted)", true},
      {"pgvigil.io/pool notin (true)", true},
      {"pgvigil.io/role", true},
      {"pgvigil.io/pool", false},
      {"!pgvigil.io/pool", true},
      {"!pgvigil.io/role", false},
      {"pgvigil.io/cluster=demo,pgvigil.io/role in (primary),!pgvigil.io/pool", true},
      {"pgvigil.io/cluster=demo,pgvigil.io/role=replica", false},
  };
  for (const auto& [text, want] : kCases) {
    auto s = Selector::ParseLabels(text);
    ASSERT_TRUE(s.ok()) << text << ": " << s.error();
    EXPECT_EQ(s->Matches(pod), want) << text;
  }
}

TEST(SelectorTest, MalformedSelectorsAreErrors) {
  for (const char* text : {"a in (", "a in ()", "a within (b)", "a b=c", "=x", "a,,b", "!"})
    EXPECT_FALSE(Selector::ParseLabels(text).ok()) << text;
  EXPECT_FALSE(Selector::ParseFields("spec.nodeName=a").ok());
  EXPECT_FALSE(Selector::ParseFields("metadata.name in (a)").ok());
}

TEST(SelectorTest, FieldSelectorsOnNameAndNamespace) {
  auto obj = web::json::value::parse(R"({"metadata":{"name":"node-1","namespace":"db","labels":{"a":"b"}}})");
  EXPECT_TRUE(Selector::ParseFields("metadata.name=node-1")->MatchesObject(obj));
  EXPECT_FALSE(Selector::ParseFields("metadata.name=node-2")->MatchesObject(obj));
  EXPECT_TRUE(Selector::ParseFields("metadata.name!=node-2,metadata.namespace==db")->MatchesObject(obj));
  EXPECT_TRUE(Selector::ParseLabels("a=b")->MatchesObject(obj));
  EXPECT_FALSE(Selector::ParseLabels("a=c")->MatchesObject(obj));
}

}  // namespace
}  // namespace pgvigil::kube::fake
