// The cluster state of one PostgresCluster kept in its status (KUBERNETES.md
// §4.2, §4.3), the Kubernetes StateStore. Every write is a PUT of /status
// carrying the resourceVersion last read (compare-and-swap): a 409 means
// someone wrote in between, so the store re-reads and reports the conflict;
// it never retries blindly, the next round re-plans from the new copy.
// status.term is the newest term made durable here: a leader first makes its
// epoch durable (MakeTermDurable), and a status.term above the term it acts
// under means it was deposed. Reconcile thread only, except SetSummary (any
// thread). The client must outlive the store.
#pragma once

#include <functional>
#include <mutex>
#include <string>

#include "controller/kube/kube_client.h"
#include "controller/kube/status_codec.h"
#include "controller/leadership.h"

namespace pgvigil::kube {

struct ClusterRead {
  web::json::value object;      // the PostgresCluster as read
  std::string resourceVersion;  // the CAS precondition of the next write
  uint64_t term = 0;            // status.term
  Result<plan::ClusterState> state = plan::ClusterState{};  // an error when the status is unreadable
  std::string fencedPrimary;    // status.fencedPrimary (status_codec.h)
};

struct TermOutcome {
  enum class Code { kDurable, kDeposed, kConflict, kFailed };
  Code code = Code::kFailed;
  uint64_t statusTerm = 0;  // status.term as last read
  std::string detail;       // what happened (for the log)
};

class StatusStore : public StateStore {
 public:
  StatusStore(KubeClient* client, std::string ns, std::string name);

  const std::string& ns() const { return ns_; }
  const std::string& name() const { return name_; }

  // GET of the PostgresCluster, kept as the base of the next write.
  Result<ClusterRead> Read();
  // status.term = epoch by CAS unless it is already; kDeposed when status.term
  // is above it (read, or re-read after a 409); kConflict when the object
  // changed in between (re-read: try again next round).
  TermOutcome MakeTermDurable(uint64_t epoch);

  // StateStore: Load re-reads; Save writes `state` under `term` by CAS, only
  // when status.term (as last read) is exactly `term`.
  Result<plan::ClusterState> Load() override;
  Result<std::string> Save(const plan::ClusterState& state, uint64_t term) override;
  // Any other change of the status (conditions, acceptedGeneration), by the
  // same rules as Save: under exactly the durable term, CAS on the last read.
  Result<std::string> EditStatus(uint64_t term, const std::function<void(web::json::value*)>& edit);

  // Summary fields another thread wants in the status (phase, conditions,
  // generations): `edit` is applied to every later write of this store, and
  // FlushSummary writes it on its own when `signature` changed since it was
  // last written. So one thread writes the status and the summary never makes
  // a state write lose its compare-and-swap. Thread-safe.
  void SetSummary(std::function<void(web::json::value*)> edit, std::string signature);
  // Reconcile thread, under the durable term: writes a changed summary.
  Result<std::string> FlushSummary(uint64_t term);

  // The highest status.term seen (the elector's next epoch goes above it).
  uint64_t highestTerm() const { return highestTerm_; }

 private:
  // PUT of /status with `status` in place of the base's; the reply becomes the base.
  Result<ApiReply> PutStatus(const web::json::value& status);
  std::string Where() const { return "PostgresCluster " + ns_ + "/" + name_; }

  KubeClient* const client_;
  const std::string ns_, name_;
  bool haveBase_ = false;
  ClusterRead base_;
  uint64_t highestTerm_ = 0;
  std::mutex summaryMu_;  // guards the three below
  std::function<void(web::json::value*)> summaryEdit_;
  std::string summarySignature_, summaryWritten_;
};

}  // namespace pgvigil::kube
