// YAML nodes of a custom resource as JSON (YAML 1.2 core schema: quoted stays
// a string) and the YAML text of the golden files, which must read back as the
// same JSON, whatever the strings hold.
#include "controller/kube/render_json.h"

#include <gtest/gtest.h>

namespace pgvigil::kube {
namespace {

using web::json::value;

TEST(RenderJsonTest, YamlScalarsBecomeJsonTypes) {
  value v =
      YamlToJson(YAML::Load("{a: 1, b: \"1\", c: true, d: 'true', e: 1.5, f: null, g: 10Gi, h: "
                            "[x], i: 500m, j: -3, k: ~, "
                            "l: 99999999999999999999999}"));
  EXPECT_TRUE(v.at("a").is_integer());
  EXPECT_TRUE(v.at("b").is_string());
  EXPECT_TRUE(v.at("c").is_boolean());
  EXPECT_TRUE(v.at("d").is_string());
  EXPECT_TRUE(v.at("e").is_double());
  EXPECT_TRUE(v.at("f").is_null());
  EXPECT_EQ(v.at("g").as_string(), "10Gi");
  EXPECT_TRUE(v.at("h").is_array());
  EXPECT_EQ(v.at("i").as_string(), "500m");
  EXPECT_EQ(v.at("j").as_integer(), -3);
  EXPECT_TRUE(v.at("k").is_null());
  EXPECT_EQ(v.at("l").as_string(), "99999999999999999999999");  // out of range: the text
  // JSON text parsed as YAML keeps its quoted strings.
  value j = YamlToJson(YAML::Load(R"({"port": "5432", "n": 5432})"));
  EXPECT_TRUE(j.at("port").is_string());
  EXPECT_TRUE(j.at("n").is_integer());
  EXPECT_TRUE(YamlToJson(YAML::Node()).is_null());
}

TEST(RenderJsonTest, YamlTextReadsBackAsTheSameJson) {
  const char* cases[] = {
      R"({"a":1,"b":"x","c":true,"d":null,"e":[],"f":{},"g":[1,"2",{"h":"i"}]})",
      R"({"multi":"line one\nline two\n","noend":"a\nb","two":"a\n\n","lead":" a\nb","blank":"a\n\nb\n"})",
      R"({"true":"true","null":"null","5":"5","y":"y","key with space":"v: w","-dash":"- x","#":"# c"})",
      R"({"pgvigil.io/cluster":"demo","quote":"say \"hi\"","tab":"a\tb","cr":"a\r\nb","u":"é€"})",
      R"({"nested":[[1,2],[],[{}]],"num":1.5,"neg":-7,"big":1099511627776})",
      R"({"literal":"  indented first\nline\n"})",
  };
  for (const char* c : cases) {
    value v = value::parse(c);
    std::string text = ToYamlText(v);
    value back = YamlToJson(YAML::Load(text));
    EXPECT_EQ(back, v) << c << "\n--- text:\n" << text;
  }
  EXPECT_EQ(ToYamlText(value::object()), "{}\n");
  EXPECT_EQ(ToYamlText(value::parse(R"({"a":{"b":"x\ny\n"},"c":[1]})")),
            "a:\n  b: |\n    x\n    y\nc:\n  - 1\n");
}

}  // namespace
}  // namespace pgvigil::kube
