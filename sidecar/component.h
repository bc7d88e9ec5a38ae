// What the sidecar's parts (proxy, watchdog, node agent + REST) share: the
// context they are built with and the lifecycle they follow.
#pragma once

#include <memory>
#include <string>

#include <cpprest/json.h>

#include "common/metrics.h"
#include "common/result.h"
#include "common/spec.h"
#include "sidecar/health_view.h"

namespace pgvigil {

class ProxyApi;     // sidecar/proxy/proxy_api.h
class WatchdogApi;  // sidecar/watchdog/watchdog_api.h

// Built once in main; outlives every component. The pointers to other components'
// APIs are set before any Start() and may be null when that part is disabled.
struct SidecarContext {
  ClusterSpec spec;
  std::string nodeName;    // this host's node in spec.nodes
  std::string stateDir;    // persistent state (highest term, votes, register)
  // pgvigil-sidecar --kubernetes (KUBERNETES.md §4.5.2): the main process of a pod;
  // no VIP, and the watchdog write lease guards the local primary's writes.
  bool kubernetes = false;
  std::shared_ptr<HealthView> health = std::make_shared<HealthView>();
  std::shared_ptr<MetricsRegistry> metrics = std::make_shared<MetricsRegistry>();
  ProxyApi* proxy = nullptr;
  WatchdogApi* watchdog = nullptr;

  const NodeSpec& self() const { return *spec.FindNode(nodeName); }
};

class Component {
 public:
  virtual ~Component() = default;
  virtual const char* name() const = 0;
  virtual Status Start() = 0;
  // Clean shutdown; must return within a few seconds. The watchdog resigns here.
  virtual void Stop() = 0;
  // Summary for GET /v1/status.
  virtual web::json::value Summary() const = 0;
};

}  // namespace pgvigil
