// coordination.k8s.io/v1 Lease get/create/update (KUBERNETES.md §4.2, §7 #9)
// and events.k8s.io/v1 Events (§7 #10), typed over KubeClient. Updates carry
// the resourceVersion last read, so a lost race is 409 Conflict. Times are
// MicroTime ("2026-01-02T03:04:05.123456Z").
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "controller/kube/kube_client.h"

namespace pgvigil::kube {

std::string FormatMicroTime(std::chrono::system_clock::time_point t);
std::optional<std::chrono::system_clock::time_point> ParseMicroTime(const std::string& text);

struct Lease {
  std::string ns, name;
  std::string holderIdentity;
  int leaseDurationSeconds = 0;
  std::string acquireTime, renewTime;  // MicroTime, "" when absent
  int leaseTransitions = 0;
  std::map<std::string, std::string> annotations;  // e.g. pgvigil.io/epoch
  std::string resourceVersion;                     // of the read; the CAS precondition
  web::json::value ToJson() const;
  static Lease FromJson(const web::json::value& v);
};

// The reply's code says what happened: 200/201 with `lease` filled, 404 (get),
// 409 (create: AlreadyExists; update: Conflict).
struct LeaseReply {
  ApiReply reply;
  Lease lease;
};

Result<LeaseReply> GetLease(KubeClient* c, const std::string& ns, const std::string& name);
Result<LeaseReply> CreateLease(KubeClient* c, const Lease& lease);
Result<LeaseReply> UpdateLease(KubeClient* c, const Lease& lease);

struct EventRecord {
  std::string ns;
  web::json::value regarding;  // {apiVersion, kind, name, namespace, uid}
  std::string type = "Normal"; // Normal or Warning
  std::string reason, action, note;
  std::string reportingController = "pgvigil.io/controller";
  std::string reportingInstance;
};
Result<ApiReply> PostEvent(KubeClient* c, const EventRecord& e);

}  // namespace pgvigil::kube
