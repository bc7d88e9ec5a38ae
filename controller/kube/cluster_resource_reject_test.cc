// PostgresCluster resources the conversion refuses: each case is a small
// document, the one problem it must report with the custom resource's own path
// ("spec.path: reason", as SpecValid=False will show it), and the position when
// the document gives one. Most cases append a section to kBase (valid), so their
// first own line is 8.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "controller/kube/cluster_resource.h"

namespace pgvigil::kube {
namespace {

const char kBase[] =
    "apiVersion: pgvigil.io/v1alpha1\n"
    "kind: PostgresCluster\n"
    "metadata: {name: demo, namespace: db}\n"
    "spec:\n"
    "  instances: 3\n"
    "  storage: {size: 1Gi}\n"
    "  watchdog: {authKeySecret: {name: wd, key: key}}\n";

std::string Base(const std::string& tail = "") { return kBase + tail; }
std::string With(const std::string& from, const std::string& to) {
  std::string text = kBase;
  auto at = text.find(from);
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

struct RejectCase {
  std::string name;
  std::string text;
  std::string path;
  std::string reason;  // a part of the reason that must appear
  int line = 0;        // 0: not checked
  int column = 0;
  size_t count = 1;
};

std::vector<RejectCase> Cases() {
  const std::string kFixed = "fixed by the pgvigil image";
  return {
      // The document and metadata.
      {"NotAMapping", "- a\n- b\n", "(document)", "expected a PostgresCluster object"},
      {"SyntaxError", "{\"apiVersion\": \"pgvigil.io/v1alpha1\",\n \"spec\": [}\n", "(document)", "syntax error"},
      {"WrongApiVersion", With("pgvigil.io/v1alpha1", "pgvigil.io/v1"), "apiVersion", "expected pgvigil.io/v1alpha1", 1, 13},
      {"WrongKind", With("kind: PostgresCluster", "kind: Cluster"), "kind", "expected PostgresCluster", 2, 7},
      {"NoName", With("name: demo, ", ""), "metadata.name", "required field is missing"},
      {"BadName", With("name: demo", "name: Demo"), "metadata.name", "'Demo' is not a valid name"},
      {"LongName", With("name: demo", "name: " + std::string(53, 'a')), "metadata.name", "at most 52 characters", 3, 18},
      {"BadNamespace", With("namespace: db", "namespace: DB"), "metadata.namespace", "not a namespace name"},
      {"NoSpec", "apiVersion: pgvigil.io/v1alpha1\nkind: PostgresCluster\nmetadata: {name: demo}\n", "spec",
       "required field is missing"},
      {"SpecNotAMapping", With("spec:\n  instances: 3\n  storage: {size: 1Gi}\n  watchdog: {authKeySecret: {name: wd, key: key}}\n", "spec: 3\n"),
       "spec", "expected a mapping of fields"},
      {"UnknownField", Base("  instance: 4\n"), "spec.instance", "unknown field (did you mean 'instances'?)", 8, 3},
      {"UnknownNestedField", Base("  proxy: {porrt: 1}\n"), "spec.proxy.porrt", "unknown field (did you mean 'port'?)", 8, 11},
      // instances, storage, image.
      {"NoInstances", With("  instances: 3\n", ""), "spec.instances", "required field is missing"},
      {"ZeroInstances", With("instances: 3", "instances: 0"), "spec.instances", "out of range: 0 (allowed 1..9)", 5, 14},
      {"TenInstances", With("instances: 3", "instances: 10"), "spec.instances", "out of range"},
      {"InstancesNotANumber", With("instances: 3", "instances: three"), "spec.instances", "expected an integer"},
      {"NoStorage", With("  storage: {size: 1Gi}\n", ""), "spec.storage", "required field is missing"},
      {"NoStorageSize", With("{size: 1Gi}", "{storageClass: fast}"), "spec.storage.size", "required field is missing"},
      {"StorageSizeNotAQuantity", With("size: 1Gi", "size: 10GB"), "spec.storage.size", "expected a positive quantity", 6, 19},
      {"StorageSizeZero", With("size: 1Gi", "size: 0"), "spec.storage.size", "positive quantity"},
      {"StorageClassBad", With("size: 1Gi", "size: 1Gi, storageClass: Fast_SSD"), "spec.storage.storageClass",
       "not a StorageClass name"},
      {"ImageWithSpace", Base("  image: \"pgvigil latest\"\n"), "spec.image", "not an image reference"},
      // postgres: fixed fields, Secrets, parameters.
      {"PostgresVersion16", Base("  postgres: {version: 16}\n"), "spec.postgres.version", "out of range: 16 (allowed 15..15)"},
      {"PostgresPort", Base("  postgres: {port: 5433}\n"), "spec.postgres.port", kFixed, 8, 20},
      {"PostgresDataDirectory", Base("  postgres: {dataDirectory: /data}\n"), "spec.postgres.dataDirectory", kFixed},
      {"PostgresBinDirectory", Base("  postgres: {binDirectory: /bin}\n"), "spec.postgres.binDirectory", kFixed},
      {"PostgresOsUser", Base("  postgres: {osUser: pg}\n"), "spec.postgres.osUser", kFixed},
      {"SuperuserPasswordFile", Base("  postgres: {superuser: {passwordFile: /pw}}\n"),
       "spec.postgres.superuser.passwordFile", "use passwordSecret {name, key}"},
      {"ReplicationPasswordFile", Base("  postgres: {replicationUser: {passwordFile: /pw}}\n"),
       "spec.postgres.replicationUser.passwordFile", "use passwordSecret {name, key}"},
      {"SuperuserEmptyName", Base("  postgres: {superuser: {name: \"\"}}\n"), "spec.postgres.superuser.name",
       "must not be empty"},
      {"SecretWithoutKey", Base("  postgres: {superuser: {passwordSecret: {name: su}}}\n"),
       "spec.postgres.superuser.passwordSecret.key", "required field is missing"},
      {"SecretBadName", Base("  postgres: {superuser: {passwordSecret: {name: Bad_Name, key: k}}}\n"),
       "spec.postgres.superuser.passwordSecret.name", "not a valid Secret name"},
      {"SecretBadKey", Base("  postgres: {superuser: {passwordSecret: {name: su, key: a/b}}}\n"),
       "spec.postgres.superuser.passwordSecret.key", "not a valid Secret key"},
      {"ParameterManaged", Base("  postgres: {parameters: {port: \"5433\"}}\n"), "spec.postgres.parameters.port",
       "pgvigil sets port itself", 8, 27},
      {"ParameterSyncNames", Base("  postgres: {parameters: {synchronous_standby_names: \"*\"}}\n"),
       "spec.postgres.parameters.synchronous_standby_names", "pgvigil sets synchronous_standby_names itself"},
      {"ParameterRecoveryTarget", Base("  postgres: {parameters: {recovery_target_lsn: \"0/1\"}}\n"),
       "spec.postgres.parameters.recovery_target_lsn", "itself"},
      {"ParameterWalLevel", Base("  postgres: {parameters: {wal_level: minimal}}\n"), "spec.postgres.parameters.wal_level",
       "must be replica or logical"},
      {"ParameterManagedAnyCase", Base("  postgres: {parameters: {Primary_Conninfo: x}}\n"),
       "spec.postgres.parameters.Primary_Conninfo", "pgvigil sets primary_conninfo itself"},
      {"ParameterBadName", Base("  postgres: {parameters: {\"work mem\": 4MB}}\n"), "spec.postgres.parameters.work mem",
       "not a PostgreSQL setting name"},
      {"ParameterTwoLines", Base("  postgres: {parameters: {work_mem: \"4MB\\nport = 1\"}}\n"),
       "spec.postgres.parameters.work_mem", "must be one line"},
      {"ParametersNotAMapping", Base("  postgres: {parameters: [a]}\n"), "spec.postgres.parameters",
       "expected a mapping of names to values"},
      {"ParameterValueNotString", Base("  postgres: {parameters: {work_mem: {a: 1}}}\n"),
       "spec.postgres.parameters.work_mem", "expected a single value"},
      // Behaviour sections: the same checks as the spec file, on the resource's paths.
      {"HealthCheckDuration", Base("  healthCheck: {period: fast}\n"), "spec.healthCheck.period", "expected a duration"},
      {"RequireConsensusFalse", Base("  failover: {requireConsensus: false}\n"), "spec.failover.requireConsensus",
       "must stay true on Kubernetes"},
      {"MaximumLagNotASize", Base("  failover: {maximumLagBytes: lots}\n"), "spec.failover.maximumLagBytes",
       "expected a size such as 16MB, 16Mi"},
      {"RecoveryMethod", Base("  recovery: {method: rewind}\n"), "spec.recovery.method", "unknown value 'rewind'"},
      {"ReplicationMode", Base("  replication: {mode: semi}\n"), "spec.replication.mode", "unknown value 'semi'"},
      {"SyncCountAboveStandbys", Base("  replication: {mode: sync, synchronousCount: 3}\n"),
       "spec.replication.synchronousCount", "cannot exceed the number of standbys (2)"},
      {"ProxyListen", Base("  proxy: {listen: 0.0.0.0}\n"), "spec.proxy.listen", "pods listen on ::"},
      {"ProxyHbaFile", Base("  proxy: {auth: {hbaFile: /hba}}\n"), "spec.proxy.auth.hbaFile", "use secret {name}"},
      {"ProxyAuthSecretNoName", Base("  proxy: {auth: {secret: {}}}\n"), "spec.proxy.auth.secret.name",
       "required field is missing"},
      {"ProxyTlsCertFile", Base("  proxy: {tls: {certFile: /c}}\n"), "spec.proxy.tls.certFile", "kubernetes.io/tls Secret"},
      {"ProxyPortClashesWithPostgres", Base("  proxy: {port: 5432}\n"), "spec",
       "port 5432 is used by both postgres.port and proxy.port"},
      {"WatchdogDisabled", With("{authKeySecret", "{enabled: false, authKeySecret"), "spec.watchdog.enabled",
       "must stay true on Kubernetes"},
      {"WatchdogWithoutKey", With("  watchdog: {authKeySecret: {name: wd, key: key}}\n", ""), "spec.watchdog.authKeySecret",
       "required when the watchdog is enabled"},
      {"WatchdogAuthKeyFile", With("{authKeySecret", "{authKeyFile: /k, authKeySecret"), "spec.watchdog.authKeyFile",
       "use authKeySecret"},
      {"WatchdogDeadTime", With("{authKeySecret", "{deadTime: 1000ms, authKeySecret"), "spec.watchdog.deadTime",
       "must be more than 2 x heartbeatInterval"},
      {"ApiListen", Base("  api: {listen: \"::\"}\n"), "spec.api.listen", "pods listen on ::"},
      {"ApiTokenFile", Base("  api: {tokenFile: /t}\n"), "spec.api.tokenFile", "use tokenSecret"},
      {"ApiTlsKeyFile", Base("  api: {tls: {keyFile: /k}}\n"), "spec.api.tls.keyFile", "kubernetes.io/tls Secret"},
      // Kubernetes-only fields.
      {"ServiceType", Base("  services: {rw: {type: External}}\n"), "spec.services.rw.type", "unknown value 'External'"},
      {"ServiceSourceRange", Base("  services: {pool: {type: LoadBalancer, loadBalancerSourceRanges: [10.0.0.0]}}\n"),
       "spec.services.pool.loadBalancerSourceRanges[0]", "not a CIDR"},
      {"ServiceSourceRangeNotLoadBalancer", Base("  services: {ro: {type: NodePort, loadBalancerSourceRanges: [10.0.0.0/8]}}\n"),
       "spec.services.ro.loadBalancerSourceRanges", "applies only to type LoadBalancer (this Service is NodePort)"},
      {"ServiceUnknownField", Base("  services: {ro: {typ: NodePort}}\n"), "spec.services.ro.typ", "unknown field"},
      {"NodeLossPolicy", Base("  nodeLossPolicy: Never\n"), "spec.nodeLossPolicy", "unknown value 'Never'"},
      {"NodeLossGraceTooShort", Base("  nodeLossGracePeriod: 1s\n"), "spec.nodeLossGracePeriod", "out of range"},
      {"PodDeletionTimeoutTooShort", Base("  podDeletionTimeout: 1s\n"), "spec.podDeletionTimeout", "out of range"},
      {"PodDeletionTimeoutNotADuration", Base("  podDeletionTimeout: soon\n"), "spec.podDeletionTimeout", ""},
      {"TolerateOutOfService",
       Base("  tolerations: [{key: node.kubernetes.io/out-of-service, operator: Exists, effect: NoExecute}]\n"),
       "spec.tolerations[0]", "out-of-service node must be removable", 8, 17},
      {"TolerateEverything", Base("  tolerations: [{key: a, value: b}, {operator: Exists}]\n"), "spec.tolerations[1]",
       "tolerates every taint"},
      {"TolerationsNotAList", Base("  tolerations: {key: a}\n"), "spec.tolerations", "expected a list"},
      {"ResourcesNotAMapping", Base("  resources: [cpu]\n"), "spec.resources", "expected a mapping"},
      {"NodeSelectorValue", Base("  nodeSelector: {disk: [ssd]}\n"), "spec.nodeSelector.disk", "expected a single value"},
      // The REST servers' limits (enforced before the token) keep the VM spec's ranges.
      {"ApiMaxConnectionsZero", Base("  api: {maxConnections: 0}\n"), "spec.api.maxConnections", "out of range"},
      {"ApiHeaderTimeoutTooShort", Base("  api: {headerTimeout: 10ms}\n"), "spec.api.headerTimeout", "out of range: 10ms"},
      // Instances by name.
      {"OverrideUnknownInstance", Base("  instanceOverrides: [{name: demo-5, weight: 2}]\n"),
       "spec.instanceOverrides[0].name", "'demo-5' is not an instance of this cluster (demo-0 .. demo-2)"},
      {"OverrideTwice", Base("  instanceOverrides: [{name: demo-1}, {name: demo-1, noFailover: true}]\n"),
       "spec.instanceOverrides[1].name", "overridden twice"},
      {"OverrideWithoutName", Base("  instanceOverrides: [{weight: 2}]\n"), "spec.instanceOverrides[0].name",
       "required field is missing"},
      {"OverrideWeight", Base("  instanceOverrides: [{name: demo-0, weight: -1}]\n"), "spec.instanceOverrides[0].weight",
       "out of range"},
      {"OverridesNotAList", Base("  instanceOverrides: {name: demo-0}\n"), "spec.instanceOverrides", "expected a list"},
      {"PrimaryNotAnInstance", Base("  primary: demo-9\n"), "spec.primary", "'demo-9' is not an instance of this cluster"},
      // What Kubernetes replaces.
      {"Vip", Base("  vip: {address: 10.0.0.150/24}\n"), "spec.vip", "the Services NAME-rw and NAME replace the VIP", 8, 8},
      {"Nodes", Base("  nodes: [{name: a, host: b}]\n"), "spec.nodes", "set instances"},
  };
}

class RejectTest : public testing::TestWithParam<RejectCase> {};

TEST_P(RejectTest, ReportsPathAndReason) {
  const RejectCase& c = GetParam();
  ResourceLoad load = ConvertClusterResourceText(c.text, "db/demo");
  SCOPED_TRACE("document:\n" + c.text + "errors:\n" + load.ErrorText());
  ASSERT_FALSE(load.ok());
  EXPECT_EQ(load.errors.size(), c.count);
  const SpecError* found = nullptr;
  for (const auto& e : load.errors)
    if (e.path == c.path && e.reason.find(c.reason) != std::string::npos) found = &e;
  ASSERT_NE(found, nullptr) << "no error at " << c.path << " containing \"" << c.reason << "\"";
  EXPECT_EQ(found->file, "db/demo");
  if (c.line) {
    EXPECT_EQ(found->line, c.line);
    EXPECT_EQ(found->column, c.column);
  }
  EXPECT_NE(load.ErrorText().find(c.path + ": "), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Table, RejectTest, testing::ValuesIn(Cases()),
                         [](const testing::TestParamInfo<RejectCase>& info) { return info.param.name; });

TEST(RejectTableTest, BaseIsValid) {
  ResourceLoad load = ConvertClusterResourceText(Base(), "db/demo");
  EXPECT_TRUE(load.ok()) << load.ErrorText();
}

// Several problems at once: all reported, in document order.
TEST(RejectTableTest, EveryProblemAtOnceInDocumentOrder) {
  ResourceLoad load = ConvertClusterResourceText(
      Base("  vip: {address: 10.0.0.150/24}\n  postgres: {port: 1}\n  nodeLossPolicy: Never\n"), "db/demo");
  ASSERT_EQ(load.errors.size(), 3u) << load.ErrorText();
  EXPECT_EQ(load.errors[0].path, "spec.vip");
  EXPECT_EQ(load.errors[1].path, "spec.postgres.port");
  EXPECT_EQ(load.errors[2].path, "spec.nodeLossPolicy");
}

}  // namespace
}  // namespace pgvigil::kube
