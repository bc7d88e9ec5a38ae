// kube-fake's object store: the API server's storage semantics that a
// controller relies on, without etcd. A STAND-IN for tests, not Kubernetes.
//
// - One global, increasing resourceVersion (returned as an opaque decimal
//   string), uid, creationTimestamp, generation (moved by spec changes only).
// - Create (409 AlreadyExists), get, list (label/field selectors, limit and
//   continue), update (PUT; a stale resourceVersion is 409 Conflict), patches
//   (object_patch.cc), status subresource separation, delete with
//   preconditions, finalizers and ownerReference garbage collection.
// - A bounded event history for watches: a watch from a resourceVersion older
//   than the history is 410 Gone; Compact() forgets it all on demand.
// - Custom resources are validated and pruned by their CRD's schema (422).
// - The scale subresource of a CRD that declares one (GET/PUT/PATCH .../scale).
// Not thread-safe: the server serialises every call under one mutex.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <cpprest/json.h>

#include "controller/kube/testing/api_status.h"
#include "controller/kube/testing/selectors.h"

namespace pgvigil::kube::fake {

// A CRD's scale subresource (.spec.instances style JSON paths, as the CRD writes them).
struct ScalePaths {
  std::string specReplicas, statusReplicas, labelSelector;
};

struct ResourceType {
  std::string group;  // "" for the core group
  std::string version;
  std::string plural;
  std::string kind;
  bool namespaced = true;
  bool statusSubresource = false;
  std::optional<ScalePaths> scale;  // the scale subresource, when the CRD has one
  bool custom = false;      // from a CRD: no strategic merge patch (415), schema checks
  bool generation = false;  // metadata.generation follows spec changes
  web::json::value schema;  // openAPIV3Schema, or null
  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
  std::string Id() const { return group + "/" + plural; }
};

// The built-in kinds a pgvigil controller touches.
std::vector<ResourceType> BuiltinTypes();
// The CRD of a file (YAML, template lines "{{ ... }}" skipped) as a type.
std::optional<ResourceType> TypeFromCrd(const std::string& crd_yaml, std::string* error);

struct WatchEvent {
  uint64_t rv = 0;
  std::string type;  // ADDED MODIFIED DELETED
  std::string typeId;
  web::json::value object;  // after the change (DELETED: the last state)
  web::json::value before;  // MODIFIED: the state before, for selector transitions
};

struct ListOptions {
  std::string labelSelector, fieldSelector;
  size_t limit = 0;  // 0: everything
  std::string continueToken;
};

enum class PatchType { kMerge, kJson, kStrategic, kApply };

struct PatchOptions {
  std::string fieldManager;
  bool force = false;
};

class ObjectStore {
 public:
  explicit ObjectStore(size_t history_limit = 1000);

  void AddType(const ResourceType& type);
  const ResourceType* FindType(const std::string& group, const std::string& version,
                               const std::string& plural) const;
  bool HasGroupVersion(const std::string& group, const std::string& version) const;
  std::vector<ResourceType> Types() const;

  Reply Create(const ResourceType& t, const std::string& ns, web::json::value body);
  Reply Get(const ResourceType& t, const std::string& ns, const std::string& name) const;
  Reply List(const ResourceType& t, const std::string& ns, const ListOptions& options) const;
  // PUT of the object (status: of its status subresource).
  Reply Update(const ResourceType& t, const std::string& ns, const std::string& name, web::json::value body,
               bool status);
  Reply Patch(const ResourceType& t, const std::string& ns, const std::string& name, PatchType type,
              const std::string& body, bool status, const PatchOptions& options);
  // The scale subresource (scale_subresource.cc): an autoscaling/v1 Scale built from
  // the CRD's paths; PUT and PATCH write spec.replicas to the spec path (schema
  // checked, generation moved as by any spec change).
  Reply GetScale(const ResourceType& t, const std::string& ns, const std::string& name) const;
  Reply UpdateScale(const ResourceType& t, const std::string& ns, const std::string& name,
                    const web::json::value& scale);
  Reply PatchScale(const ResourceType& t, const std::string& ns, const std::string& name, PatchType type,
                   const std::string& body);
  // options: a DeleteOptions object or null.
  Reply Delete(const ResourceType& t, const std::string& ns, const std::string& name,
               const web::json::value& options);

  // A stand-in for a kubelet that does not confirm (its node is down or
  // stuck): a DELETE of a held pod with a grace period (gracePeriodSeconds,
  // else the pod's spec.terminationGracePeriodSeconds, else 30) marks it
  // Terminating, as the API server does, metadata.deletionTimestamp = now +
  // grace and deletionGracePeriodSeconds = grace (MODIFIED), and keeps it
  // until ReleasePod; a later DELETE leaves it as it is (200, unchanged) unless
  // it asks for gracePeriodSeconds 0, a force delete, which removes it at once
  // (finalizers still hold it). A pod not held goes at once (the double's
  // kubelet confirms instantly). Holding a name holds every pod of that name.
  void HoldPodDeletion(const std::string& ns, const std::string& name) { heldPods_.insert(ns + "/" + name); }
  // The kubelet confirms: the hold ends and a Terminating pod of that name is
  // removed (DELETED; with finalizers it stays until they are gone). false when
  // no pod of that name is Terminating.
  bool ReleasePod(const std::string& ns, const std::string& name);

  uint64_t revision() const { return rv_; }
  // Events after `rv` for a watch; nullopt when some of them are forgotten (410).
  std::optional<std::vector<WatchEvent>> EventsAfter(uint64_t rv) const;
  // Forgets the whole history: every watch or continue from an older
  // resourceVersion is then 410 Gone.
  void Compact();
  uint64_t compactedRevision() const { return compacted_; }

  // Every stored object of a type in a namespace ("" = all), sorted by key.
  std::vector<web::json::value> Objects(const ResourceType& t, const std::string& ns) const;
  // Called after every successful write (the StatefulSet emulation hooks here).
  void SetAfterWrite(std::function<void()> hook) { afterWrite_ = std::move(hook); }

 private:
  friend class PatchApplier;
  std::string Key(const ResourceType& t, const std::string& ns, const std::string& name) const;
  uint64_t Bump() { return ++rv_; }
  void Record(const std::string& type, const ResourceType& t, const web::json::value& obj,
              const web::json::value& before = web::json::value::null());
  // Stores `next` as the new state of an existing object (rv, generation,
  // finalizer-completed deletion); `cur` is the current state.
  Reply Replace(const ResourceType& t, const std::string& key, const web::json::value& cur, web::json::value next);
  void Remove(const ResourceType& t, const std::string& key, const std::string& propagation);
  void CollectGarbage(const std::string& owner_uid, const std::string& propagation);
  Reply ValidateCustom(const ResourceType& t, web::json::value* obj) const;
  void AfterWrite();

  std::map<std::string, ResourceType> types_;  // by Id()
  std::map<std::string, web::json::value> objects_;  // by Key()
  std::deque<WatchEvent> history_;
  size_t historyLimit_;
  uint64_t rv_ = 0;
  uint64_t compacted_ = 0;  // events up to here are forgotten
  uint64_t uidCounter_ = 0;
  std::set<std::string> heldPods_;  // "ns/name": HoldPodDeletion
  std::function<void()> afterWrite_;
  bool inHook_ = false;
};

std::string RvString(uint64_t rv);
std::optional<uint64_t> ParseRv(const std::string& rv);

}  // namespace pgvigil::kube::fake
