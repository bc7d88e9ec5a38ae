#include "controller/kube/status_store.h"

namespace pgvigil::kube {

using web::json::value;

StatusStore::StatusStore(KubeClient* client, std::string ns, std::string name)
    : client_(client), ns_(std::move(ns)), name_(std::move(name)) {}

namespace {

ClusterRead FromObject(const value& object) {
  ClusterRead r;
  r.object = object;
  if (object.has_object_field("metadata") && object.at("metadata").has_string_field("resourceVersion"))
    r.resourceVersion = object.at("metadata").at("resourceVersion").as_string();
  const value status = object.has_field("status") ? object.at("status") : value::null();
  // The term is read on its own, so that a status whose state is unreadable
  // still deposes an older leader.
  if (status.has_number_field("term") && status.at("term").as_number().is_uint64())
    r.term = status.at("term").as_number().to_uint64();
  auto decoded = DecodeStatusState(status);
  if (decoded.ok()) {
    r.state = decoded->state;
    r.fencedPrimary = decoded->fencedPrimary;
  } else {
    r.state = decoded.status();
  }
  return r;
}

}  // namespace

Result<ClusterRead> StatusStore::Read() {
  auto reply = client_->Get(ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", ns_, name_));
  if (!reply.ok()) return Result<ClusterRead>::Error("reading " + Where() + ": " + reply.error());
  if (!reply->ok()) return Result<ClusterRead>::Error("reading " + Where() + ": " + reply->Describe());
  base_ = FromObject(reply->body);
  haveBase_ = true;
  highestTerm_ = std::max(highestTerm_, base_.term);
  return base_;
}

Result<ApiReply> StatusStore::PutStatus(const value& status) {
  value body = base_.object;
  body["status"] = status;
  auto reply = client_->Replace(ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", ns_, name_, "status"), body);
  if (reply.ok() && reply->ok()) {
    base_ = FromObject(reply->body);
    highestTerm_ = std::max(highestTerm_, base_.term);
  }
  return reply;
}

TermOutcome StatusStore::MakeTermDurable(uint64_t epoch) {
  TermOutcome out;
  auto read = Read();
  if (!read.ok()) {
    out.detail = read.error();
    return out;
  }
  out.statusTerm = read->term;
  if (read->term > epoch) {
    out.code = TermOutcome::Code::kDeposed;
    out.detail = Where() + ": status.term " + std::to_string(read->term) + " is above term " + std::to_string(epoch);
    return out;
  }
  if (read->term == epoch) {
    out.code = TermOutcome::Code::kDurable;
    out.detail = "term " + std::to_string(epoch) + " already durable in " + Where();
    return out;
  }
  value status = base_.object.has_object_field("status") ? base_.object.at("status") : value::object();
  status["term"] = value::number(epoch);
  auto reply = PutStatus(status);
  if (!reply.ok()) {
    out.detail = "writing status.term of " + Where() + ": " + reply.error();
    return out;
  }
  if (reply->ok()) {
    out.code = TermOutcome::Code::kDurable;
    out.statusTerm = epoch;
    out.detail = "term " + std::to_string(epoch) + " made durable in " + Where() + " (was " +
                 std::to_string(read->term) + ")";
    return out;
  }
  if (reply->code != 409) {
    out.detail = "writing status.term of " + Where() + ": " + reply->Describe();
    return out;
  }
  auto again = Read();
  if (!again.ok()) {
    out.detail = "re-reading " + Where() + " after a conflict: " + again.error();
    return out;
  }
  out.statusTerm = again->term;
  out.code = again->term > epoch ? TermOutcome::Code::kDeposed : TermOutcome::Code::kConflict;
  out.detail = again->term > epoch
                   ? Where() + ": status.term " + std::to_string(again->term) + " is above term " + std::to_string(epoch)
                   : Where() + " changed while term " + std::to_string(epoch) + " was written (re-read; next round)";
  return out;
}

Result<plan::ClusterState> StatusStore::Load() {
  auto read = Read();
  if (!read.ok()) return read.status();
  return read->state;
}

Result<std::string> StatusStore::Save(const plan::ClusterState& state, uint64_t term) {
  if (haveBase_ && !base_.state.ok())
    return Result<std::string>::Error("the state in " + Where() + " is unreadable: " + base_.state.error());
  return EditStatus(term, [&](value* status) { EncodeStatusState(state, term, status); });
}

Result<std::string> StatusStore::EditStatus(uint64_t term, const std::function<void(value*)>& edit) {
  if (!haveBase_) {
    if (auto read = Read(); !read.ok()) return read.status();
  }
  if (base_.term > term)
    return Result<std::string>::Error("deposed: status.term " + std::to_string(base_.term) + " of " + Where() +
                                      " is above term " + std::to_string(term));
  if (base_.term != term)
    return Result<std::string>::Error("term " + std::to_string(term) + " is not durable in " + Where() +
                                      " (status.term " + std::to_string(base_.term) + ")");
  value status = base_.object.has_object_field("status") ? base_.object.at("status") : value::object();
  edit(&status);
  std::string signature;
  {
    std::lock_guard<std::mutex> lock(summaryMu_);
    if (summaryEdit_) summaryEdit_(&status);
    signature = summarySignature_;
  }
  const std::string read_rv = base_.resourceVersion;
  auto reply = PutStatus(status);
  if (!reply.ok()) return Result<std::string>::Error("writing the status of " + Where() + ": " + reply.error());
  if (reply->ok()) {
    std::lock_guard<std::mutex> lock(summaryMu_);
    summaryWritten_ = signature;
    return "durable in the status of " + Where() + " (resourceVersion " + base_.resourceVersion + ")";
  }
  if (reply->code != 409)
    return Result<std::string>::Error("writing the status of " + Where() + ": " + reply->Describe());
  auto again = Read();
  if (again.ok() && again->term > term)
    return Result<std::string>::Error("deposed: status.term " + std::to_string(again->term) + " of " + Where() +
                                      " is above term " + std::to_string(term));
  return Result<std::string>::Error("conflict: " + Where() + " changed since it was read (resourceVersion " +
                                    read_rv + "); " + (again.ok() ? "re-read" : "re-read failed: " + again.error()) +
                                    ", the next round re-plans");
}

void StatusStore::SetSummary(std::function<void(value*)> edit, std::string signature) {
  std::lock_guard<std::mutex> lock(summaryMu_);
  summaryEdit_ = std::move(edit);
  summarySignature_ = std::move(signature);
}

Result<std::string> StatusStore::FlushSummary(uint64_t term) {
  {
    std::lock_guard<std::mutex> lock(summaryMu_);
    if (!summaryEdit_ || summarySignature_ == summaryWritten_) return std::string("summary unchanged");
  }
  return EditStatus(term, [](value*) {});  // EditStatus applies the summary
}

}  // namespace pgvigil::kube
