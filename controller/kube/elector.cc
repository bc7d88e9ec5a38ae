#include "controller/kube/elector.h"

#include <random>

#include <spdlog/spdlog.h>

namespace pgvigil::kube {

MonoMs SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string ElectorIdentity(const std::string& pod_name) {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                      static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()));
  static const char* hex = "0123456789abcdef";
  std::string nonce;
  uint64_t r = gen();
  for (int i = 0; i < 8; ++i, r >>= 4) nonce += hex[r & 15];
  return pod_name + "-" + nonce;
}

LeaseElector::LeaseElector(KubeClient* client, ElectorSettings settings)
    : client_(client), identity_(settings.identity), core_(std::move(settings)) {}

LeaseElector::~LeaseElector() { Stop(false); }

void LeaseElector::Start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
}

void LeaseElector::Stop(bool release) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  ElectorCall call;
  {
    std::lock_guard<std::mutex> lock(mu_);
    call = core_.Release(FormatMicroTime(std::chrono::system_clock::now()));
  }
  if (release && call.kind == ElectorCall::Kind::kRelease) {
    LeaseOutcome out = Send(call);
    spdlog::info("elector {}: released Lease {}/{}{}", identity_, call.lease.ns, call.lease.name,
                 out.code == LeaseOutcome::Code::kOk ? "" : " -- failed: " + out.detail);
  }
}

uint64_t LeaseElector::ActingTerm() const {
  std::lock_guard<std::mutex> lock(mu_);
  return core_.MayAct(SteadyNowMs()) ? core_.epoch() : 0;
}

ElectorRole LeaseElector::role() const {
  std::lock_guard<std::mutex> lock(mu_);
  return core_.role();
}

void LeaseElector::NoteTerm(uint64_t term) {
  std::lock_guard<std::mutex> lock(mu_);
  core_.NoteTerm(term);
}

void LeaseElector::Deposed(uint64_t term) {
  std::string line;
  {
    std::lock_guard<std::mutex> lock(mu_);
    line = core_.Deposed(term, SteadyNowMs());
  }
  if (!line.empty()) spdlog::warn("elector {}: {}", identity_, line);
  cv_.notify_all();
}

void LeaseElector::RaiseEpochAbove(uint64_t term, const std::string& why) {
  std::string line;
  {
    std::lock_guard<std::mutex> lock(mu_);
    line = core_.RaiseEpochAbove(term, SteadyNowMs());
  }
  if (line.empty()) return;
  spdlog::info("elector {}: {}: {}", identity_, line, why);
  cv_.notify_all();
}

void LeaseElector::PauseForTest(bool paused) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    paused_ = paused;
  }
  cv_.notify_all();
}

LeaseOutcome LeaseElector::Send(const ElectorCall& call) {
  Result<LeaseReply> r = Result<LeaseReply>::Error("no call");
  const auto& s = call.lease;
  switch (call.kind) {
    case ElectorCall::Kind::kGet:
      r = GetLease(client_, core_.settings().ns, core_.settings().name);
      break;
    case ElectorCall::Kind::kCreate:
      r = CreateLease(client_, s);
      break;
    case ElectorCall::Kind::kAcquire:
    case ElectorCall::Kind::kRenew:
    case ElectorCall::Kind::kRelease:
      r = UpdateLease(client_, s);
      break;
    case ElectorCall::Kind::kWait:
      return {};
  }
  LeaseOutcome out;
  if (!r.ok()) {
    out.detail = r.error();
    return out;
  }
  const ApiReply& reply = r->reply;
  if (reply.ok()) {
    out.code = LeaseOutcome::Code::kOk;
    out.lease = r->lease;
  } else if (reply.code == 404) {
    out.code = LeaseOutcome::Code::kNotFound;
  } else if (reply.code == 409) {
    out.code = LeaseOutcome::Code::kConflict;
  } else {
    out.detail = reply.Describe();
  }
  return out;
}

void LeaseElector::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (paused_) {
      cv_.wait(lock, [&] { return stopping_ || !paused_; });
      continue;
    }
    const MonoMs now = SteadyNowMs();
    ElectorCall call = core_.Next(now, FormatMicroTime(std::chrono::system_clock::now()));
    if (call.kind == ElectorCall::Kind::kWait) {
      const MonoMs wait = std::min<MonoMs>(call.at - now, 1000);
      cv_.wait_for(lock, std::chrono::milliseconds(std::max<MonoMs>(wait, 1)));
      continue;
    }
    lock.unlock();
    const MonoMs sent = SteadyNowMs();
    LeaseOutcome out = Send(call);
    const MonoMs answered = SteadyNowMs();
    lock.lock();
    if (out.code == LeaseOutcome::Code::kFailed)
      spdlog::warn("elector {}: {} of Lease {}/{} failed: {}", identity_, ToString(call.kind), core_.settings().ns,
                   core_.settings().name, out.detail);
    std::string line = core_.OnOutcome(call, out, sent, answered);
    if (!line.empty()) spdlog::info("elector {}: {}", identity_, line);
  }
}

}  // namespace pgvigil::kube
