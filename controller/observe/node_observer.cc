#include "controller/observe/node_observer.h"

#include <spdlog/spdlog.h>

#include "common/rest_client.h"
#include "controller/observe/sidecar_observer.h"

namespace pgvigil {

struct NodeObserver::Shared {
  const std::string node, token;
  const PgCredentials pg;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;                   // guarded by mu
  uint64_t requested = 0;                  // guarded by mu
  std::shared_ptr<const ClusterSpec> spec; // guarded by mu
  plan::TimeMs requestedAt = 0;            // guarded by mu
  bool running = false;                    // guarded by mu
  bool exited = false;                     // guarded by mu
  NodeLook latest;                         // guarded by mu
  // Look thread only.
  PgSession session;
  std::unique_ptr<RestClient> client;

  Shared(std::string n, std::string t, PgCredentials p)
      : node(std::move(n)), token(std::move(t)), pg(std::move(p)) {}
};

NodeObserver::NodeObserver(std::string node, std::string key, std::string token, PgCredentials pg)
    : shared_(std::make_shared<Shared>(std::move(node), std::move(token), std::move(pg))),
      key_(std::move(key)) {
  shared_->latest.obs.name = shared_->node;
  thread_ = std::thread(Run, shared_);
}

NodeObserver::~NodeObserver() { Stop(std::chrono::milliseconds(0)); }

void NodeObserver::Stop(std::chrono::milliseconds limit) {
  if (!thread_.joinable()) return;
  bool exited;
  {
    std::unique_lock<std::mutex> lock(shared_->mu);
    shared_->stopping = true;
    shared_->cv.notify_all();
    exited = shared_->cv.wait_for(lock, limit, [&] { return shared_->exited; });
  }
  // A look blocked on a host that does not answer ends on its own timeout; the
  // thread holds its own reference to the shared state.
  if (exited) thread_.join();
  else thread_.detach();
}

void NodeObserver::Request(uint64_t round, std::shared_ptr<const ClusterSpec> spec, plan::TimeMs now) {
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    if (round <= shared_->requested) return;
    shared_->requested = round;
    shared_->spec = std::move(spec);
    shared_->requestedAt = now;
  }
  shared_->cv.notify_all();
}

bool NodeObserver::WaitFor(uint64_t round, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(shared_->mu);
  return shared_->cv.wait_until(lock, deadline, [&] { return shared_->latest.round >= round; });
}

NodeLook NodeObserver::Latest() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->latest;
}

bool NodeObserver::Busy() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->running;
}

void NodeObserver::Run(std::shared_ptr<Shared> s) {
  std::unique_lock<std::mutex> lock(s->mu);
  while (true) {
    s->cv.wait(lock, [&] { return s->stopping || s->requested > s->latest.round; });
    if (s->stopping) {
      s->exited = true;
      s->cv.notify_all();
      return;
    }
    const uint64_t round = s->requested;
    const auto spec = s->spec;
    const plan::TimeMs now = s->requestedAt;
    NodeLook look = s->latest;
    s->running = true;
    lock.unlock();

    const auto started = std::chrono::steady_clock::now();
    look.round = round;
    look.poolNodes = web::json::value::null();
    const NodeSpec* n = spec->FindNode(s->node);
    if (n) {
      const std::string url = spec->ApiUrl(*n);
      if (!s->client || s->client->baseUrl() != url)
        s->client = std::make_unique<RestClient>(url, s->token, std::chrono::milliseconds(1500));
      look.pgError = ObservePostgres(*spec, *n, s->pg, now, &look.obs, &s->session);
      look.sidecarError = ObserveSidecar(*s->client, now, &look.obs);
      if (look.sidecarError.empty()) {  // select_cnt: what this node's proxy balanced
        auto pn = s->client->Get("/v1/proxy/pool_nodes");
        if (pn.ok() && pn->status == 200) look.poolNodes = pn->body;
      }
    } else {
      look.pgError = look.sidecarError = "not in the spec";
    }
    look.took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);

    lock.lock();
    s->running = false;
    s->latest = std::move(look);
    s->cv.notify_all();
  }
}

}  // namespace pgvigil
