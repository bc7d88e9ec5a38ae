// Which spec a controller process starts a cluster on (KUBERNETES.md §3: a bad
// custom resource changes nothing in the running cluster, a controller restart
// included). The API server keeps only the resource's current generation; the
// one in force is the one NAME-config records (render_objects.h: the
// annotations kAcceptedGenerationAnnotation and kAcceptedSpecAnnotation, written
// with every apply of the owned objects). When the current generation is newer
// than status.acceptedGeneration, the process starts its Reconciler on the
// recorded spec and the current generation goes through the parameter gate
// (parameter_gate.h) as a candidate, as in a controller that was running;
// without a record (a new cluster: nothing runs to protect) it takes the
// current generation as before. A current generation the converter or the
// validator refuses is never started on: the recorded spec runs (whatever its
// generation) with SpecValid=False, and without a record nothing starts.
// Pure; thread-safe (no state).
#pragma once

#include <cstdint>
#include <string>

namespace pgvigil::kube {

struct SpecInForceInputs {
  int64_t generation = 0;       // metadata.generation
  int64_t statusAccepted = -1;  // status.acceptedGeneration (-1: absent)
  std::string uid;              // metadata.uid of the custom resource
  bool currentValid = true;     // the current generation converts and validates
  enum class ConfigMap {
    kNotRead,     // not looked up (the caller asks NeedsSpecInForce first)
    kAbsent,      // 404
    kUnreadable,  // any other failure (readError)
    kPresent,
  } configMap = ConfigMap::kNotRead;
  std::string readError;
  std::string ownerUid;          // NAME-config's ownerReference uid ("" none)
  int64_t recordedGeneration = 0;  // its kAcceptedGenerationAnnotation (0: absent or not a number)
  bool recordedSpec = false;       // its kAcceptedSpecAnnotation is there
};

struct SpecInForceDecision {
  enum class Kind {
    kTakeCurrent,  // start on the current generation (judged as the first spec of this process);
                   // nothing starts when it is refused (currentValid false)
    kRestore,      // start on the recorded spec; the current generation is a candidate
    kRetry,        // NAME-config could not be read: nothing starts, the next sync looks again
  } kind = Kind::kTakeCurrent;
  std::string reason;  // logged with the decision
};
const char* ToString(SpecInForceDecision::Kind k);

// Whether NAME-config must be read before a process's first spec of a cluster:
// the current generation is refused, or not one status.acceptedGeneration
// shows accepted.
bool NeedsSpecInForce(const SpecInForceInputs& in);

// In this order: a valid generation the status shows accepted is taken; no
// NAME-config (a new cluster), or one owned by another resource of this name,
// takes the current one; unreadable retries; a NAME-config without the record
// (written by an older controller) takes the current one, said so; a record of
// this generation or a newer one takes it (a refused current one: restored);
// an older record is restored.
SpecInForceDecision DecideSpecInForce(const SpecInForceInputs& in);

}  // namespace pgvigil::kube
