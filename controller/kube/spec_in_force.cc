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

bool NeedsSpecInForce(const SpecInForceInputs& in) {
  return !in.currentValid || in.generation > in.statusAccepted;
}

SpecInForceDecision DecideSpecInForce(const SpecInForceInputs& in) {
  using Kind = SpecInForceDecision::Kind;
  using CM = SpecInForceInputs::ConfigMap;
  const std::string g = "generation " + std::to_string(in.generation);
  const std::string accepted = in.statusAccepted < 0 ? "status.acceptedGeneration absent"
                                                     : "status.acceptedGeneration " + std::to_string(in.statusAccepted);
  if (!NeedsSpecInForce(in)) return {Kind::kTakeCurrent, g + ": " + accepted + " shows it accepted; started on it"};
  // What is known of the current generation, and what taking it means.
  const std::string current = in.currentValid ? g + ": newer than " + accepted : g + ": refused (SpecValid=False)";
  const std::string take = in.currentValid ? "started on this generation (its parameters unchecked)"
                                           : "nothing starts until a generation is accepted";
  switch (in.configMap) {
    case CM::kNotRead:
      return {Kind::kRetry, current + " and NAME-config not read yet"};
    case CM::kAbsent:
      return {Kind::kTakeCurrent, current + ", and there is no NAME-config: a new cluster, nothing runs to protect; " +
                                      take};
    case CM::kUnreadable:
      return {Kind::kRetry, current + ", and NAME-config could not be read (" + in.readError +
                                "): the spec in force is not known, nothing starts; looked up again next sync"};
    case CM::kPresent:
      break;
  }
  if (!in.ownerUid.empty() && !in.uid.empty() && in.ownerUid != in.uid)
    return {Kind::kTakeCurrent, current + "; NAME-config belongs to an earlier resource of this name (owner uid " +
                                    in.ownerUid + ", this one " + in.uid + "): a new cluster; " + take};
  if (in.recordedGeneration <= 0 || !in.recordedSpec)
    return {Kind::kTakeCurrent, current + ", but NAME-config records no accepted spec (written by an older "
                                          "controller): the spec in force cannot be reconstructed; " + take};
  const std::string recorded = "NAME-config records generation " + std::to_string(in.recordedGeneration);
  if (!in.currentValid)
    return {Kind::kRestore, current + "; " + recorded + " as the spec in force: started on it, and it stays in "
                                          "force until a generation is accepted"};
  if (in.recordedGeneration >= in.generation)
    return {Kind::kTakeCurrent, g + ": " + recorded + ": this generation is in force already; started on it"};
  return {Kind::kRestore, g + " is newer than " + accepted + "; " + recorded + " as the spec in force: started on "
                              "it, and " + g + " goes through the parameter gate as a candidate (nothing of it is "
                              "used until then)"};
}

}  // namespace pgvigil::kube
