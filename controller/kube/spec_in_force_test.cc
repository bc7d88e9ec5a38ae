// DecideSpecInForce (spec_in_force.h) as a table: a controller process starts a
// cluster on the spec NAME-config records when the current generation is newer
// than status.acceptedGeneration, and on the current generation only when there
// is nothing to restore; and NAME-config carries that record.
#include "controller/kube/spec_in_force.h"

#include <gtest/gtest.h>

#include "controller/kube/kube_test_util.h"
#include "controller/kube/render_objects.h"

namespace pgvigil::kube {
namespace {

using Kind = SpecInForceDecision::Kind;
using CM = SpecInForceInputs::ConfigMap;

TEST(SpecInForce, Table) {
  struct Case {
    const char* name;
    int64_t generation, statusAccepted;
    CM configMap;
    std::string ownerUid;
    int64_t recordedGeneration;
    bool recordedSpec;
    bool currentValid;
    Kind want;
    const char* reasonHas;
  };
  const Case cases[] = {
      {"AGenerationTheStatusShowsAcceptedIsTaken", 2, 2, CM::kNotRead, "", 0, false, true, Kind::kTakeCurrent,
       "status.acceptedGeneration 2 shows it accepted"},
      {"AnOlderGenerationThanTheStatusShowsIsTaken", 2, 3, CM::kNotRead, "", 0, false, true, Kind::kTakeCurrent,
       "shows it accepted"},
      {"ANewerGenerationWithoutALookWaits", 2, 1, CM::kNotRead, "", 0, false, true, Kind::kRetry, "not read yet"},
      {"NoConfigMapIsANewCluster", 1, -1, CM::kAbsent, "", 0, false, true, Kind::kTakeCurrent,
       "no NAME-config: a new cluster"},
      {"AnUnreadableConfigMapStartsNothing", 2, 1, CM::kUnreadable, "", 0, false, true, Kind::kRetry,
       "could not be read (boom)"},
      {"AConfigMapOfAnEarlierResourceIsANewCluster", 2, 1, CM::kPresent, "old-uid", 1, true, true, Kind::kTakeCurrent,
       "earlier resource of this name"},
      {"AConfigMapWithoutARecordCannotBeRestored", 2, 1, CM::kPresent, "uid-1", 0, false, true, Kind::kTakeCurrent,
       "cannot be reconstructed"},
      {"AGenerationWithoutItsSpecCannotBeRestored", 2, 1, CM::kPresent, "uid-1", 1, false, true, Kind::kTakeCurrent,
       "cannot be reconstructed"},
      {"ARecordOfThisGenerationIsTaken", 2, 1, CM::kPresent, "uid-1", 2, true, true, Kind::kTakeCurrent,
       "in force already"},
      {"AnOlderRecordIsRestored", 2, 1, CM::kPresent, "uid-1", 1, true, true, Kind::kRestore,
       "NAME-config records generation 1 as the spec in force"},
      {"ARefusedGenerationTheStatusShowsAcceptedIsLookedUp", 2, 2, CM::kNotRead, "", 0, false, false, Kind::kRetry,
       "refused (SpecValid=False) and NAME-config not read yet"},
      {"ARefusedGenerationOfANewClusterStartsNothing", 1, -1, CM::kAbsent, "", 0, false, false, Kind::kTakeCurrent,
       "nothing starts until a generation is accepted"},
      {"ARefusedGenerationWithoutARecordStartsNothing", 2, 1, CM::kPresent, "uid-1", 0, false, false,
       Kind::kTakeCurrent, "cannot be reconstructed; nothing starts"},
      {"ARefusedGenerationRestoresTheRecord", 2, 1, CM::kPresent, "uid-1", 1, true, false, Kind::kRestore,
       "stays in force until a generation is accepted"},
      {"ARefusedGenerationRestoresARecordOfItsOwnNumber", 2, 2, CM::kPresent, "uid-1", 2, true, false, Kind::kRestore,
       "NAME-config records generation 2"},
      {"AnOlderRecordIsRestoredWithoutAStatus", 3, -1, CM::kPresent, "", 1, true, true, Kind::kRestore,
       "goes through the parameter gate"},
  };
  for (const Case& c : cases) {
    SpecInForceInputs in;
    in.generation = c.generation;
    in.statusAccepted = c.statusAccepted;
    in.uid = "uid-1";
    in.configMap = c.configMap;
    in.readError = "boom";
    in.ownerUid = c.ownerUid;
    in.recordedGeneration = c.recordedGeneration;
    in.recordedSpec = c.recordedSpec;
    in.currentValid = c.currentValid;
    SpecInForceDecision d = DecideSpecInForce(in);
    EXPECT_EQ(ToString(d.kind), std::string(ToString(c.want))) << c.name << ": " << d.reason;
    EXPECT_NE(d.reason.find(c.reasonHas), std::string::npos) << c.name << ": " << d.reason;
  }
}

TEST(SpecInForce, NameConfigRecordsTheAcceptedGenerationAndSpec) {
  ResourceLoad load = ConvertClusterResource(
      testing_util::FindDocument("manifests/examples/k8s-cluster.yaml", "PostgresCluster"), "test");
  ASSERT_TRUE(load.ok()) << load.ErrorText();
  ClusterResource res = *load.resource;
  RenderOptions o;
  o.uid = "uid-1";
  web::json::value plain = RenderConfigMap(res, o);
  EXPECT_FALSE(plain.at("metadata").has_object_field("annotations")) << "no record without an accepted generation";
  res.acceptedGeneration = 7;
  res.acceptedSpec = R"({"instances":3})";
  web::json::value cm = RenderConfigMap(res, o);
  const web::json::value& a = cm.at("metadata").at("annotations");
  EXPECT_EQ(a.at(kAcceptedGenerationAnnotation).as_string(), "7");
  EXPECT_EQ(a.at(kAcceptedSpecAnnotation).as_string(), R"({"instances":3})");
}

}  // namespace
}  // namespace pgvigil::kube
