// Kubernetes quantities as bytes, and the byte sizes a PostgresCluster accepts.
#include "controller/kube/quantity.h"

#include <gtest/gtest.h>

namespace pgvigil::kube {
namespace {

TEST(QuantityTest, WholeByteCounts) {
  const std::pair<const char*, uint64_t> kCases[] = {
      {"0", 0},
      {"4096", 4096},
      {"+12", 12},
      {"1Ki", 1024},
      {"10Gi", 10ull << 30},
      {"1.5Gi", 3ull << 29},
      {"2Ti", 2ull << 40},
      {"1Ei", 1ull << 60},
      {"500M", 500000000},
      {"1k", 1000},
      {"1G", 1000000000},
      {"0.5k", 500},
      {"1e3", 1000},
      {"1E6", 1000000},
      {"1e+2", 100},
      {"2000e-3", 2},
      {"2000m", 2},
      {".5Ki", 512},
  };
  for (const auto& [text, bytes] : kCases) {
    auto v = ParseQuantity(text);
    ASSERT_TRUE(v.has_value()) << text;
    EXPECT_EQ(*v, bytes) << text;
  }
}

TEST(QuantityTest, RefusesWhatIsNotAWholeNonNegativeNumberOfBytes) {
  for (const char* text : {"", "Gi", "-1Gi", "1.5", "1500m", "1.5k1", "10 Gi", "10gi", "10GB", "1e", "1e100",
                           "1.2.3", "16Ei", "99999999999999999999", "1x", "1e-1", "1500e-3", "."}) {
    EXPECT_FALSE(ParseQuantity(text).has_value()) << text;
  }
}

TEST(QuantityTest, ByteSizesTakeTheSpecFileFormsAndQuantities) {
  EXPECT_EQ(ParseByteSize("16MB"), 16ull << 20);  // PostgreSQL's MB, as in the spec file
  EXPECT_EQ(ParseByteSize("16Mi"), 16ull << 20);
  EXPECT_EQ(ParseByteSize("16M"), 16000000u);     // a quantity's decimal M
  EXPECT_EQ(ParseByteSize("512kB"), 512u << 10);
  EXPECT_EQ(ParseByteSize("1048576"), 1u << 20);
  EXPECT_FALSE(ParseByteSize("16 MiB MB").has_value());
  EXPECT_FALSE(ParseByteSize("lots").has_value());
}

}  // namespace
}  // namespace pgvigil::kube
