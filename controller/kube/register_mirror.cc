#include "controller/kube/register_mirror.h"

#include <spdlog/spdlog.h>

#include "common/agent_refusal.h"
#include "common/rest_client.h"
#include "common/watchdog_register.h"

namespace pgvigil::kube {

using web::json::value;

namespace {

// How long the sidecar may wait for a majority of the members to store it.
constexpr int kRegisterTimeoutMs = 2000;

}  // namespace

RegisterMirror::RegisterMirror(std::string where, std::chrono::milliseconds retry)
    : where_(std::move(where)), retry_(retry) {
  thread_ = std::thread([this] { Loop(); });
}

RegisterMirror::~RegisterMirror() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RegisterMirror::Offer(value doc, uint64_t term, std::vector<std::string> urls, std::string token) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    doc_ = std::move(doc);
    term_ = term;
    urls_ = std::move(urls);
    token_ = std::move(token);
    ++offered_;
  }
  cv_.notify_all();
}

uint64_t RegisterMirror::landed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return landed_;
}

void RegisterMirror::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t failed = 0;  // the offer that failed last (retried after retry_)
  while (true) {
    if (failed != 0 && failed == offered_)
      cv_.wait_for(lock, retry_, [&] { return stop_ || offered_ != failed; });
    else
      cv_.wait(lock, [&] { return stop_ || offered_ != landed_; });
    if (stop_) return;
    if (offered_ == landed_) continue;
    const uint64_t seq = offered_;
    const value body = ToJson(WatchdogRegisterWrite{term_, doc_, uint64_t(kRegisterTimeoutMs)});
    const std::vector<std::string> urls = urls_;
    const std::string token = token_;
    const uint64_t term = term_;
    lock.unlock();
    std::string errors;
    bool ok = false, stale = false;
    for (const auto& url : urls) {
      RestClient client(url, token, std::chrono::milliseconds(kRegisterTimeoutMs + 1000));
      auto r = client.Put("/v1/watchdog/register", body);
      if (r.ok() && r->status == 200) {
        ok = true;
        break;
      }
      if (r.ok() && r->status == 409 && AgentRefusalFromJson(r->body, nullptr).reason == refusal::kStaleTerm)
        stale = true;
      errors += (errors.empty() ? "" : "; ") + url + ": " + (r.ok() ? DescribeFailure(*r) : r.error());
      if (stale) break;
    }
    if (urls.empty()) errors = "no sidecar known";
    const auto now = StandingDecision::Clock::now();
    const std::string failure =
        ok || stale ? "" : "register mirror of the state (term " + std::to_string(term) + ") failed: " + errors;
    switch (failing_.Update(failure, now)) {
      case StandingDecision::Say::kStarted:
      case StandingDecision::Say::kChanged:
      case StandingDecision::Say::kReminder:
        spdlog::warn("{}: {} (the status holds the state; trying again every {} ms)", where_, failure,
                     retry_.count());
        break;
      case StandingDecision::Say::kEnded:
        spdlog::info("{}: register mirror landed again (term {})", where_, term);
        break;
      case StandingDecision::Say::kNothing:
        break;
    }
    if (ok) spdlog::debug("{}: state mirrored to the watchdog register (term {})", where_, term);
    if (stale)
      spdlog::warn("{}: register mirror of term {} refused, a newer term is in force: dropped ({})", where_, term,
                   errors);
    lock.lock();
    if (ok || stale) {
      landed_ = std::max(landed_, seq);
      failed = 0;
    } else {
      failed = seq;
    }
  }
}

}  // namespace pgvigil::kube
