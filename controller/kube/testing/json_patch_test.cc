// RFC 7386 (its appendix A examples) and RFC 6902 (add, remove, replace, move,
// copy, test; all or nothing).
#include "controller/kube/testing/json_patch.h"

#include <gtest/gtest.h>

namespace pgvigil::kube::fake {
namespace {

using web::json::value;
value J(const std::string& t) { return value::parse(t); }

TEST(MergePatchTest, Rfc7386AppendixA) {
  const char* kCases[][3] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {R"({"a":"foo"})", "null", "null"},
      {R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const auto& c : kCases) EXPECT_EQ(MergePatch(J(c[0]), J(c[1])), J(c[2])) << c[0] << " + " << c[1];
}

TEST(JsonPatchTest, OperationsApplyInOrder) {
  value doc = J(R"({"metadata":{"labels":{"a":"1","x/y":"2"}},"list":[1,2,3]})");
  auto r = JsonPatch(doc, J(R"([
    {"op":"add","path":"/metadata/labels/b","value":"3"},
    {"op":"remove","path":"/metadata/labels/x~1y"},
    {"op":"replace","path":"/list/0","value":9},
    {"op":"add","path":"/list/-","value":4},
    {"op":"add","path":"/list/1","value":8},
    {"op":"move","from":"/metadata/labels/a","path":"/moved"},
    {"op":"copy","from":"/list/0","path":"/copied"},
    {"op":"test","path":"/copied","value":9}
  ])"));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, J(R"({"metadata":{"labels":{"b":"3"}},"list":[9,8,2,3,4],"moved":"1","copied":9})"));
}

TEST(JsonPatchTest, AFailedTestOrMissingPathChangesNothing) {
  value doc = J(R"({"metadata":{"resourceVersion":"7"},"a":1})");
  auto failed = JsonPatch(doc, J(R"([{"op":"replace","path":"/a","value":2},
                                      {"op":"test","path":"/metadata/resourceVersion","value":"6"}])"));
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().find("test failed"), std::string::npos);
  EXPECT_FALSE(JsonPatch(doc, J(R"([{"op":"remove","path":"/nope"}])")).ok());
  EXPECT_FALSE(JsonPatch(doc, J(R"([{"op":"replace","path":"/nope","value":1}])")).ok());
  EXPECT_FALSE(JsonPatch(doc, J(R"([{"op":"add","path":"/a/b/c","value":1}])")).ok());
  EXPECT_FALSE(JsonPatch(J("[1]"), J(R"([{"op":"add","path":"/5","value":1}])")).ok());
  auto malformed = JsonPatch(doc, J(R"({"op":"add"})"));
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().rfind("malformed", 0), 0u);
  EXPECT_EQ(JsonPatch(doc, J(R"([{"op":"jump","path":"/a"}])")).error().rfind("malformed", 0), 0u);
  EXPECT_EQ(JsonPatch(doc, J(R"([{"op":"add","path":"/a"}])")).error().rfind("malformed", 0), 0u);
}

}  // namespace
}  // namespace pgvigil::kube::fake
