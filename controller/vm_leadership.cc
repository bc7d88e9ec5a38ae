#include "controller/vm_leadership.h"

#include "common/files.h"
#include "common/watchdog_register.h"
#include "controller/act/state_codec.h"
#include "controller/observe/sidecar_observer.h"

namespace pgvigil {

bool WatchdogLeadership::Read(plan::TimeMs now, LeadershipLook* look, web::json::value* register_doc) {
  auto reply = sidecar_().Get("/v1/watchdog");
  *register_doc = web::json::value::null();
  std::optional<WatchdogDetail> d;
  if (reply.ok() && reply->status == 200) d = DecodeWatchdogDetail(reply->body, "the local sidecar");
  look->watchdogDetail = d;
  if (!d) {
    plan::WatchdogView view;
    view.observedAt = now;
    look->watchdog = view;
    return false;
  }
  look->watchdog = WatchdogViewOf(*d, now);
  look->holder = look->watchdog->leader;
  look->term = look->watchdog->term;
  *register_doc = d->reg.doc;
  return d->leaderWithQuorum;
}

LeadershipLook WatchdogLeadership::Look(plan::TimeMs now) {
  LeadershipLook look;
  look.mayAct = Read(now, &look, &registerDoc_);
  look.reason = look.mayAct ? "watchdog leader with quorum" : "not the watchdog leader with quorum";
  return look;
}

bool WatchdogLeadership::StillActing(uint64_t term) {
  LeadershipLook again;
  web::json::value doc;
  return Read(0, &again, &doc) && again.term == term;
}

Result<plan::ClusterState> WatchdogRegisterStore::Load() {
  return DecodeClusterState(leadership_->registerDoc());
}

Result<std::string> WatchdogRegisterStore::Save(const plan::ClusterState& state, uint64_t term) {
  const WatchdogRegisterWrite write{term, EncodeClusterState(state), std::nullopt};
  auto reply = sidecar_().Put("/v1/watchdog/register", ToJson(write));
  if (!reply.ok()) return Result<std::string>::Error(reply.error());
  if (reply->status != 200) return Result<std::string>::Error(DescribeFailure(*reply));
  return std::string("durable on a majority");
}

LeadershipLook StandaloneLeadership::Look(plan::TimeMs) {
  LeadershipLook look;
  look.mayAct = true;
  look.term = term_;
  look.holder = node_;
  look.reason = "standalone";
  return look;
}

Result<plan::ClusterState> FileStateStore::Load() {
  auto text = ReadFile(Path());
  if (!text.ok()) return plan::ClusterState{};  // first start
  try {
    return DecodeClusterState(web::json::value::parse(*text));
  } catch (const std::exception& e) {
    return Result<plan::ClusterState>::Error(Path() + ": " + e.what());
  }
}

Result<std::string> FileStateStore::Save(const plan::ClusterState& state, uint64_t) {
  if (Status s = WriteFileAtomic(Path(), EncodeClusterState(state).serialize(), 0600); !s.ok())
    return Result<std::string>::Error(s.message());
  return std::string("stored");
}

}  // namespace pgvigil
