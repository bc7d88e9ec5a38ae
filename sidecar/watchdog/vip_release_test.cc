// release-vip's pieces that run without a network namespace: address lookup and
// the "not held here" answers (the lab e2e vipkill_e2e.sh removes a real VIP).
#include "sidecar/watchdog/vip_release.h"

#include <sstream>

#include <gtest/gtest.h>

namespace pgvigil {
namespace watchdog {
namespace {

TEST(VipRelease, FindsConfiguredAddressesOnly) {
  EXPECT_TRUE(AddressConfigured("127.0.0.1"));
  EXPECT_FALSE(AddressConfigured("192.0.2.254"));  // TEST-NET-1: never configured here
  EXPECT_FALSE(AddressConfigured("not an address"));
}

TEST(VipRelease, NothingToDoWhenTheVipIsNotHere) {
  std::ostringstream out, err;
  VipSpec none;
  EXPECT_EQ(ReleaseVip(none, out, err), 0);
  EXPECT_NE(out.str().find("no VIP"), std::string::npos);
  VipSpec elsewhere;
  elsewhere.address = "192.0.2.254/24";
  elsewhere.downCommand = "/bin/false";  // must not even run
  out.str("");
  EXPECT_EQ(ReleaseVip(elsewhere, out, err), 0);
  EXPECT_NE(out.str().find("not configured on this host"), std::string::npos) << out.str();
  EXPECT_EQ(err.str(), "");
}

}  // namespace
}  // namespace watchdog
}  // namespace pgvigil
