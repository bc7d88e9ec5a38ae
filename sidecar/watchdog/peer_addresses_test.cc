// PeerAddresses: when peers are (re-)resolved, what an unresolved peer is, and
// which address a datagram goes to; plus the system resolver on names every
// host resolves without /etc/hosts or DNS (numeric literals, "localhost").
#include "sidecar/watchdog/peer_addresses.h"

#include <gtest/gtest.h>

namespace pgvigil::watchdog {
namespace {

using boost::asio::ip::make_address;

Result<std::vector<Address>> Addrs(std::initializer_list<const char*> list) {
  std::vector<Address> out;
  for (const char* a : list) out.push_back(make_address(a));
  return out;
}
Result<std::vector<Address>> NoSuchName() {
  return Result<std::vector<Address>>::Error("Name or service not known");
}

PeerAddresses Three(bool ipv6) {
  return PeerAddresses({{"demo-0.demo-hl", 9694}, {"demo-1.demo-hl", 9695}, {"demo-2.demo-hl", 9696}},
                       /*self=*/0, ipv6, PeerAddresses::Timing{10000, 1000});
}

TEST(PeerAddressesTest, EveryPeerButSelfIsDueAtOnceAndThenEveryRefresh) {
  PeerAddresses p = Three(true);
  EXPECT_EQ(p.Due(0), (std::vector<int>{1, 2}));
  p.Resolved(1, Addrs({"10.0.0.2"}), 0);
  p.Resolved(2, Addrs({"10.0.0.3"}), 0);
  EXPECT_TRUE(p.Due(9999).empty());
  EXPECT_EQ(p.Due(10000), (std::vector<int>{1, 2}));
}

TEST(PeerAddressesTest, AnUnresolvedPeerIsUnknownAndRetriedEverySecond) {
  PeerAddresses p = Three(true);
  EXPECT_FALSE(p.Endpoint(1).has_value());  // before any resolution
  EXPECT_FALSE(p.Resolved(1, NoSuchName(), 0));
  EXPECT_FALSE(p.Endpoint(1).has_value());
  EXPECT_EQ(p.LastError(1), "Name or service not known");
  EXPECT_EQ(p.Due(999), (std::vector<int>{2}));
  EXPECT_EQ(p.Due(1000), (std::vector<int>{1, 2}));
  // It appears later: known from then on.
  EXPECT_TRUE(p.Resolved(1, Addrs({"10.0.0.2"}), 1000));
  ASSERT_TRUE(p.Endpoint(1).has_value());
  EXPECT_EQ(p.Endpoint(1)->port(), 9695);
  EXPECT_EQ(p.LastError(1), "");
}

TEST(PeerAddressesTest, ANameThatStopsResolvingMakesThePeerUnknown) {
  PeerAddresses p = Three(false);
  p.Resolved(1, Addrs({"10.0.0.2"}), 0);
  EXPECT_TRUE(p.Resolved(1, NoSuchName(), 10000));
  EXPECT_FALSE(p.Endpoint(1).has_value());
}

TEST(PeerAddressesTest, SendErrorAndSilenceBringTheNextResolutionForward) {
  PeerAddresses p = Three(true);
  p.Resolved(1, Addrs({"10.0.0.2"}), 0);
  p.Resolved(2, Addrs({"10.0.0.3"}), 0);
  p.SendFailed(1);
  p.Silent(2);
  EXPECT_TRUE(p.Due(999).empty());  // at most once a second
  EXPECT_EQ(p.Due(1000), (std::vector<int>{1, 2}));
  p.Resolved(1, Addrs({"10.0.0.2"}), 1000);
  EXPECT_EQ(p.Due(2000), (std::vector<int>{2}));  // 1 is back on the 10 s refresh
}

TEST(PeerAddressesTest, ARecreatedPodsNewAddressIsTakenOnTheNextResolution) {
  PeerAddresses p = Three(false);
  p.Resolved(1, Addrs({"10.0.0.2"}), 0);
  EXPECT_TRUE(p.Resolved(1, Addrs({"10.0.0.9"}), 10000));
  EXPECT_EQ(p.Endpoint(1)->address().to_string(), "10.0.0.9");
}

TEST(PeerAddressesTest, KeepsTheCurrentAddressWhileItIsStillAnswered) {
  PeerAddresses p = Three(true);
  p.Resolved(1, Addrs({"fd00::2", "10.0.0.2"}), 0);
  EXPECT_EQ(p.Endpoint(1)->address().to_string(), "fd00::2");
  p.SendFailed(1);  // fd00::2 unreachable: the next address
  EXPECT_EQ(p.Endpoint(1)->address().to_string(), "::ffff:10.0.0.2");
  // The resolver answers in its own order again; we stay where sends work.
  EXPECT_FALSE(p.Resolved(1, Addrs({"fd00::2", "10.0.0.2"}), 1000));
  EXPECT_EQ(p.Endpoint(1)->address().to_string(), "::ffff:10.0.0.2");
}

TEST(PeerAddressesTest, IPv4OnlySocketSkipsIPv6AddressesAndDualStackMapsIPv4) {
  PeerAddresses v4 = Three(false);
  v4.Resolved(1, Addrs({"fd00::2", "10.0.0.2"}), 0);
  EXPECT_EQ(v4.Endpoint(1)->address().to_string(), "10.0.0.2");
  v4.Resolved(2, Addrs({"fd00::3"}), 0);
  EXPECT_FALSE(v4.Endpoint(2).has_value());
  EXPECT_NE(v4.LastError(2).find("IPv4 only"), std::string::npos);

  PeerAddresses dual = Three(true);
  dual.Resolved(1, Addrs({"10.0.0.2"}), 0);
  EXPECT_TRUE(dual.Endpoint(1)->address().is_v6());
  EXPECT_EQ(dual.Endpoint(1)->address().to_v6().to_v4().to_string(), "10.0.0.2");
  dual.Resolved(2, Addrs({"fd00::3"}), 0);
  EXPECT_EQ(dual.Endpoint(2)->address().to_string(), "fd00::3");
}

TEST(ResolveWithSystemTest, NumericAddressesAndLocalhost) {
  auto v4 = ResolveWithSystem("127.0.0.1");
  ASSERT_TRUE(v4.ok()) << v4.error();
  EXPECT_EQ(v4->size(), 1u);
  EXPECT_EQ((*v4)[0].to_string(), "127.0.0.1");
  auto v6 = ResolveWithSystem("::1");
  ASSERT_TRUE(v6.ok()) << v6.error();
  EXPECT_EQ((*v6)[0].to_string(), "::1");
  auto local = ResolveWithSystem("localhost");
  ASSERT_TRUE(local.ok()) << local.error();
  for (const Address& a : *local) EXPECT_TRUE(a.is_loopback()) << a.to_string();
  EXPECT_FALSE(ResolveWithSystem("no such host!").ok());
}

}  // namespace
}  // namespace pgvigil::watchdog

namespace pgvigil::watchdog {
namespace {

// A membership change: the members that stay keep their addresses, a new one is
// resolved at once, a removed one is gone.
TEST(PeerAddressesTest, ReplaceKeepsTheMembersThatStay) {
  PeerAddresses p = Three(false);
  p.Resolved(1, Addrs({"10.0.0.2"}), 0);
  p.Resolved(2, Addrs({"10.0.0.3"}), 0);
  p.Replace({{"demo-0.demo-hl", 9694}, {"demo-1.demo-hl", 9695}, {"demo-2.demo-hl", 9696}, {"demo-3.demo-hl", 9697}});
  EXPECT_EQ(p.size(), 4);
  EXPECT_EQ(p.Endpoint(1)->address().to_string(), "10.0.0.2");
  EXPECT_EQ(p.Endpoint(2)->address().to_string(), "10.0.0.3");
  EXPECT_FALSE(p.Endpoint(3).has_value());
  EXPECT_EQ(p.Due(1), (std::vector<int>{3}));
  p.Resolved(3, Addrs({"10.0.0.4"}), 1);
  EXPECT_EQ(p.Endpoint(3)->port(), 9697);
  // Back to three; a member whose host changed is resolved again.
  p.Replace({{"demo-0.demo-hl", 9694}, {"demo-1.demo-hl", 9695}, {"other", 9696}});
  EXPECT_EQ(p.size(), 3);
  EXPECT_EQ(p.Endpoint(1)->address().to_string(), "10.0.0.2");
  EXPECT_FALSE(p.Endpoint(2).has_value());
  EXPECT_EQ(p.Due(2), (std::vector<int>{2}));
}

}  // namespace
}  // namespace pgvigil::watchdog
