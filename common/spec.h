// The cluster spec: the declared shape of a pgvigil cluster, the same schema as
// a YAML file on VMs and as the PostgresCluster custom resource on Kubernetes.
// Plain value types; every field carries its documented safe default here, so a
// default-constructed ClusterSpec plus the nodes is a valid cluster.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pgvigil {

using Millis = std::chrono::milliseconds;

struct UserRef {
  std::string name;
  std::string passwordFile;  // path of a file holding the password; never inline
};

struct PostgresSpec {
  int version = 15;
  int port = 5432;  // default for nodes[].port
  std::string dataDirectory = "/var/lib/postgresql/15/main";  // default for nodes
  std::string binDirectory = "/usr/lib/postgresql/15/bin";
  UserRef superuser{"postgres", ""};
  UserRef replicationUser{"repl", ""};
  std::string osUser = "postgres";  // OS account that runs PostgreSQL when we are root
  // postgresql.conf settings (name -> value as written in postgresql.conf, unquoted).
  // The sidecar writes them to DATA/pgvigil.conf, which DATA/postgresql.conf
  // includes, and reloads (sidecar/agent/postgres_parameters.h). The settings
  // pgvigil manages itself are refused by the validator (KUBERNETES.md §3).
  std::map<std::string, std::string> parameters;
};

enum class NodeTag { kNoFailover, kNoLoadBalance };

struct NodeSpec {
  std::string name;
  std::string host;           // PostgreSQL and sidecar address
  int port = 0;               // 0: postgres.port
  std::string dataDirectory;  // empty: postgres.dataDirectory
  int weight = 1;             // load-balance weight, 0 = never balanced
  bool noFailover = false;    // tag: never promoted automatically
  bool noLoadBalance = false; // tag: never used for reads
  // Per-node overrides of the sidecar ports (0: spec default). Useful when several
  // nodes share one address, e.g. tests on loopback.
  int proxyPort = 0;
  int apiPort = 0;
  int watchdogPort = 0;
  int heartbeatPort = 0;
};

struct VipSpec {
  std::string address;     // "10.77.0.150/24"; empty: no VIP
  std::string interface = "eth0";
  // Commands run with argv (split on whitespace, no shell). $_IP_$ is replaced by
  // the address without prefix, $_PREFIX_$ by the prefix, $_IFACE_$ by interface.
  std::string upCommand = "/sbin/ip addr add $_IP_$/$_PREFIX_$ dev $_IFACE_$ label $_IFACE_$:0";
  std::string downCommand = "/sbin/ip addr del $_IP_$/$_PREFIX_$ dev $_IFACE_$";
  std::string arpingCommand = "/usr/bin/arping -U $_IP_$ -w 1 -I $_IFACE_$";
  // Duplicate-address detection before the VIP comes up: exit status 1 means
  // another host answers for the address (the new leader then waits, see
  // sidecar/watchdog/vip_control.h); 0, or no answer within 300 ms, means free.
  // Empty: no detection.
  std::string dadCommand = "/usr/bin/arping -D -c 1 -w 1 -I $_IFACE_$ $_IP_$";

  bool enabled() const { return !address.empty(); }
  std::string ip() const;  // address without "/prefix"
  int prefix() const;      // prefix length, 32 when absent
  // The command with placeholders substituted.
  std::string Expand(const std::string& command) const;
};

struct HealthCheckSpec {
  Millis period{1000};
  Millis timeout{2000};
  int maxRetries = 2;
  Millis retryDelay{250};
  std::string database = "postgres";
};

struct FailoverSpec {
  bool automatic = true;
  bool requireConsensus = true;
  uint64_t maximumLagBytes = 16ull << 20;  // 16MB
};

enum class RecoveryMethod { kRewindOrBasebackup, kBasebackup };

struct RecoverySpec {
  bool automatic = true;
  RecoveryMethod method = RecoveryMethod::kRewindOrBasebackup;
};

enum class ReplicationMode { kAsync, kSync };

struct ReplicationSpec {
  ReplicationMode mode = ReplicationMode::kAsync;
  int synchronousCount = 1;  // sync mode: ANY/FIRST k
  bool slots = true;         // one physical slot per standby on the primary
};

enum class DisableOnWrite { kTransaction, kAlways, kOff };

struct LoadBalancingSpec {
  bool enabled = true;
  uint64_t delayThreshold = 10ull << 20;  // bytes of replay lag; past it a standby gets no reads
  // Reads after a write that goes to the primary (see the README, "Read balancing"):
  //  transaction: the rest of a transaction that wrote reads the primary;
  //  always: every later read of the session reads the primary;
  //  off: reads keep balancing (inside a transaction a read may miss its own writes).
  DisableOnWrite disableOnWrite = DisableOnWrite::kTransaction;
  // Causal reads: after a session's write commits (at LSN L, fetched from the
  // primary right after), its reads go only to standbys whose replay LSN is
  // known to be at least L (from the health checks), else to the primary.
  bool readYourWrites = true;
  std::vector<std::string> readOnlyFunctions;  // known read-only functions (reads may balance)
  std::vector<std::string> writeFunctions;     // functions that write (always to primary)
};

struct ProxyAuthSpec {
  // pool_hba.conf format. Empty: every client, local or remote, must pass
  // scram-sha-256 against passwordFile; trust applies only where a hba file
  // says so explicitly.
  std::string hbaFile;
  std::string passwordFile;  // pool_passwd format
  std::string keyFile;       // AES key for AES entries (like ~/.pgpoolkey)
};

// How the proxy answers a backend's password request when it logs in with a
// pool_passwd password. SCRAM-SHA-256 is always allowed (it proves the
// server knows the verifier and never reveals the password). A cleartext
// request would hand the password to whoever answers at the node's address,
// and an md5 request its replayable hash: both are refused (the login fails,
// nothing is sent) unless allowed here.
struct BackendAuthSpec {
  bool allowCleartext = false;
  bool allowMd5 = false;
};

struct TlsSpec {
  std::string certFile;
  std::string keyFile;
  bool enabled() const { return !certFile.empty(); }
};

// session: a client keeps its backends until it leaves. transaction: backends
// go back to a shared pool at every transaction boundary (ReadyForQuery 'I').
enum class PoolMode { kSession, kTransaction };
// Transaction mode, a statement that leaves session state on its backend (SET,
// LISTEN, temp table, ...): refused with an error, or the client keeps its
// backends from then on (pinned, as in session mode).
enum class SessionStatePolicy { kRefuse, kPin };

// The proxy's backend pools. Session mode: the idle pool (connections kept after
// a client leaves, reset with DISCARD ALL, for the next client with the same
// user/database/options). Transaction mode: see sidecar/proxy/README.md.
struct ProxyPoolSpec {
  int maxIdle = 20;                   // idle backends kept by one proxy, all nodes together; 0: no pooling
  Millis idleTimeout{600000};         // an idle backend is closed after this long (as PgBouncer); 0: never
  PoolMode mode = PoolMode::kSession;
  // Transaction mode: backends per pool (user, database, startup options, node),
  // shared out between the proxy's worker threads.
  int size = 20;
  Millis queueTimeout{120000};        // transaction mode: longest wait for a pool backend
  // Transaction mode: what a statement leaving session state on a shared
  // backend gets (refused, or the client keeps its backends). A SET of
  // client_encoding, DateStyle, TimeZone, standard_conforming_strings or
  // application_name is not such state: those follow the client (fixed list,
  // sidecar/proxy/tracked_params.h).
  SessionStatePolicy sessionState = SessionStatePolicy::kRefuse;
  // Transaction mode: the most named prepared statements (protocol-level) one
  // client may have (a Parse beyond gets ERROR 53400), and that the proxy
  // keeps prepared on one backend (it closes others there before parsing more).
  int maxPreparedStatements = 1000;
};

struct ProxySpec {
  bool enabled = true;
  int port = 9999;
  std::string listen = "0.0.0.0";
  int threads = 0;  // 0: half the CPUs the process may use (affinity, cgroup quota), at least 1
  int maxClientConnections = 10000;  // authenticated client sessions
  // Connections that have not finished startup and authentication are counted
  // apart from maxClientConnections and closed after authenticationTimeout
  // (PostgreSQL's authentication_timeout). When this many are open, a new
  // connection closes the oldest one (per worker thread, its share), so silent
  // sockets cannot lock real clients out.
  int maxUnauthenticatedConnections = 1000;
  Millis authenticationTimeout{60000};
  Millis pauseLimit{5000};  // how long a switchover may hold new transactions
  LoadBalancingSpec loadBalancing;
  ProxyPoolSpec pool;
  ProxyAuthSpec auth;
  BackendAuthSpec backendAuth;
  TlsSpec tls;
};

struct WatchdogSpec {
  bool enabled = true;
  int port = 9000;           // tcp: watchdog messages / register
  int heartbeatPort = 9694;  // udp
  Millis heartbeatInterval{500};
  Millis deadTime{1500};     // must be > 2 x heartbeatInterval
  std::string authKeyFile;   // HMAC key; required when enabled
};

struct ApiSpec {
  int port = 9898;            // sidecar REST
  int controllerPort = 9900;  // controller REST
  std::string listen = "0.0.0.0";
  std::string tokenFile;      // bearer token for mutating calls
  // TLS for the REST APIs (sidecar and controller). Without it the bearer token
  // crosses the network in clear text: set it wherever the network is not trusted.
  TlsSpec tls;
  // Limits of both REST servers, enforced before the token is checked:
  Millis headerTimeout{10000};   // request line + headers must arrive within this
  Millis requestTimeout{30000};  // the whole request (and each response write)
  Millis idleTimeout{60000};     // an idle keep-alive connection is closed after this
  int maxConnections = 512;      // open connections per server; more are closed at once
};

struct ClusterSpec {
  std::string apiVersion = "pgvigil.io/v1alpha1";
  std::string kind = "PostgresCluster";
  std::string name;  // metadata.name
  PostgresSpec postgres;
  std::vector<NodeSpec> nodes;
  std::string primary;  // desired primary; empty: keep whichever is primary
  VipSpec vip;
  HealthCheckSpec healthCheck;
  FailoverSpec failover;
  RecoverySpec recovery;
  ReplicationSpec replication;
  ProxySpec proxy;
  WatchdogSpec watchdog;
  ApiSpec api;

  const NodeSpec* FindNode(const std::string& node_name) const;
  // Effective per-node values (node override or spec default).
  int PgPort(const NodeSpec& n) const { return n.port ? n.port : postgres.port; }
  std::string DataDir(const NodeSpec& n) const {
    return n.dataDirectory.empty() ? postgres.dataDirectory : n.dataDirectory;
  }
  int ProxyPort(const NodeSpec& n) const { return n.proxyPort ? n.proxyPort : proxy.port; }
  int ApiPort(const NodeSpec& n) const { return n.apiPort ? n.apiPort : api.port; }
  // Base URL of the node's sidecar REST API ("https://" when api.tls is set).
  std::string ApiUrl(const NodeSpec& n) const {
    return (api.tls.enabled() ? "https://" : "http://") + n.host + ":" + std::to_string(ApiPort(n));
  }
  int WatchdogPort(const NodeSpec& n) const {
    return n.watchdogPort ? n.watchdogPort : watchdog.port;
  }
  int HeartbeatPort(const NodeSpec& n) const {
    return n.heartbeatPort ? n.heartbeatPort : watchdog.heartbeatPort;
  }
};

bool operator==(const ClusterSpec& a, const ClusterSpec& b);
inline bool operator!=(const ClusterSpec& a, const ClusterSpec& b) { return !(a == b); }

const char* ToString(RecoveryMethod m);
const char* ToString(ReplicationMode m);
const char* ToString(DisableOnWrite m);
const char* ToString(PoolMode m);
const char* ToString(SessionStatePolicy p);

}  // namespace pgvigil
