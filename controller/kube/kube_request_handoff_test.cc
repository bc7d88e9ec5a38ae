// An operator request goes to the planner only when status.lastRequest holds
// it under the term the controller filed it under (kube_request.h,
// DecideHandOff): the KubeController in this process against kube-fake (the
// API-server test double, not Kubernetes). No pods run here; the cluster's
// Reconciler exists, and the request is switchover demo-1. The controller's
// status writes are refused (as its compare-and-swap would fail once
// deposed), then the status shows the same request recorded under term 2 by
// another controller: this one, still holding the Lease under term 1, drops
// it (logged once) instead of handing it to the planner, and it does not
// write its own record of it over the other's once it may write again.
#include "controller/kube/kube_inprocess_fixture.h"
#include "controller/kube/kube_request.h"

namespace pgvigil::kube {
namespace {

using std::chrono::milliseconds;
using web::json::value;

class KubeRequestHandOffTest : public KubeInProcessTest {
 protected:
  void SetUp() override {
    CreateCluster("secret", "token");
    StartController();
  }
};

TEST_F(KubeRequestHandOffTest, ARequestRecordedUnderAnotherTermIsNotHandedToThePlanner) {
  ASSERT_TRUE(WaitFor([&] { return Int(Status(), "acceptedGeneration") == 1 && Int(Status(), "term") == 1; },
                      milliseconds(15000)))
      << Status().serialize();
  BlockStatusWrites();
  const OperatorRequest r{"req-x", "switchover", "demo-1", "2026-12-06T15:00:00Z"};
  value annotation = value::object();
  annotation["metadata"]["annotations"][kRequestAnnotation] = value::string(EncodeRequest(r));
  Patch(annotation.serialize());
  ASSERT_TRUE(WaitFor([&] { return LogHas("id req-x): accepted (term 1)"); }, milliseconds(10000)));
  // Its record does not land (status writes refused).
  std::this_thread::sleep_for(milliseconds(1000));
  EXPECT_FALSE(Status().has_field("lastRequest")) << Status().serialize();

  // Another controller recorded the same request under term 2 (and runs it).
  value other = value::object();
  other["status"]["lastRequest"] = RequestRecord(r, true, "switchover demo-1 requested", 2, "2026-12-06T15:00:01Z");
  Patch(other.serialize(), "status");
  EXPECT_TRUE(WaitFor([&] { return LogHas("request req-x (switchover demo-1) recorded but not carried out here"); },
                      milliseconds(10000)));
  EXPECT_TRUE(LogHas("holds it under term 2, not term 1"));
  EXPECT_FALSE(LogHas("request req-x (switchover demo-1) durable in status.lastRequest: handed to the planner"));
  EXPECT_FALSE(LogHas("request req-x refused"));

  // Allowed to write again: the other controller's record stays, nothing is handed over.
  AllowEverything();
  std::this_thread::sleep_for(milliseconds(3000));
  value s = Status();
  ASSERT_TRUE(s.has_object_field("lastRequest")) << s.serialize();
  EXPECT_EQ(Int(s.at("lastRequest"), "term"), 2) << s.serialize();
  EXPECT_FALSE(LogHas("handed to the planner (term"));
}

}  // namespace
}  // namespace pgvigil::kube
