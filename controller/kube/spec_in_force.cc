#include "controller/kube/spec_in_force.h"

namespace pgvigil::kube {

const char* ToString(SpecInForceDecision::Kind k) {
  switch (k) {
    case SpecInForceDecision::Kind::kTakeCurrent: return "take-current";
    case SpecInForceDecision::Kind::kRestore: return "restore";
    case SpecInForceDecision::Kind::kRetry: return "retry";
  }
  return "?";
}

bool NeedsSpecInForce(int64_t generation, int64_t statusAccepted) { return generation > statusAccepted; }

SpecInForceDecision DecideSpecInForce(const SpecInForceInputs& in) {
  using Kind = SpecInForceDecision::Kind;
  using CM = SpecInForceInputs::ConfigMap;
  const std::string g = "generation " + std::to_string(in.generation);
  const std::string accepted = in.statusAccepted < 0 ? "status.acceptedGeneration absent"
                                                     : "status.acceptedGeneration " + std::to_string(in.statusAccepted);
  if (!NeedsSpecInForce(in.generation, in.statusAccepted))
    return {Kind::kTakeCurrent, g + ": " + accepted + " shows it accepted; started on it"};
  switch (in.configMap) {
    case CM::kNotRead:
      return {Kind::kRetry, g + ": newer than " + accepted + " and NAME-config not read yet"};
    case CM::kAbsent:
      return {Kind::kTakeCurrent, g + ": newer than " + accepted + ", and there is no NAME-config: a new cluster, "
                                      "nothing runs to protect; started on this generation (its parameters "
                                      "unchecked)"};
    case CM::kUnreadable:
      return {Kind::kRetry, g + ": newer than " + accepted + ", and NAME-config could not be read (" + in.readError +
                                "): the spec in force is not known, nothing starts; looked up again next sync"};
    case CM::kPresent:
      break;
  }
  if (!in.ownerUid.empty() && !in.uid.empty() && in.ownerUid != in.uid)
    return {Kind::kTakeCurrent, g + ": NAME-config belongs to an earlier resource of this name (owner uid " +
                                    in.ownerUid + ", this one " + in.uid + "): a new cluster; started on this "
                                    "generation (its parameters unchecked)"};
  if (in.recordedGeneration <= 0 || !in.recordedSpec)
    return {Kind::kTakeCurrent, g + ": newer than " + accepted + ", but NAME-config records no accepted spec "
                                    "(written by an older controller): the spec in force cannot be reconstructed; "
                                    "started on this generation (its parameters unchecked)"};
  const std::string recorded = "NAME-config records generation " + std::to_string(in.recordedGeneration);
  if (in.recordedGeneration >= in.generation)
    return {Kind::kTakeCurrent, g + ": " + recorded + ": this generation is in force already; started on it"};
  return {Kind::kRestore, g + " is newer than " + accepted + "; " + recorded + " as the spec in force: started on "
                              "it, and " + g + " goes through the parameter gate as a candidate (nothing of it is "
                              "used until then)"};
}

}  // namespace pgvigil::kube
