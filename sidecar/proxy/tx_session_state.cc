#include "sidecar/proxy/tx_session_state.h"

#include "sidecar/proxy/tracked_params.h"

namespace pgvigil::proxy {

const char* ToString(TxStateVerdict v) {
  switch (v) {
    case TxStateVerdict::kRefuse: return "refuse";
    case TxStateVerdict::kPin: return "pin";
    default: return "allow";
  }
}

namespace {
// The session state a statement leaves behind, "" for none.
std::string SessionStateOf(const TxStateFacts& f) {
  if (!f.sessionState.empty()) {
    // set_config() of a parameter that follows the client: as its SET.
    const std::string_view s = f.sessionState;
    if (s.substr(0, kSetConfigOf.size()) == kSetConfigOf && TrackedParameterIndex(s.substr(kSetConfigOf.size())) >= 0)
      return "";
    return std::string(s);
  }
  if (f.createsTemp)
    return f.kind == StmtKind::kSet || f.kind == StmtKind::kSetLocal
               ? "a search_path with pg_temp first (a CREATE without a schema makes a temporary table)"
               : "a temporary table";
  switch (f.kind) {
    // SET without LOCAL outlives the transaction even inside one.
    // Of a parameter that follows the client (tracked_params.h): allowed.
    case StmtKind::kSet:
      return f.setsTrackedParameter ? ""
                                    : "SET (session level; SET LOCAL is allowed, and SET of client_encoding, "
                                      "DateStyle, TimeZone, standard_conforming_strings, application_name)";
    case StmtKind::kSetSessionCharacteristics: return "SET SESSION CHARACTERISTICS";
    // RESET, DISCARD and DEALLOCATE only undo state; SET LOCAL and SET
    // TRANSACTION end with the transaction.
    default: return "";
  }
}
}  // namespace

bool SetsTrackedParameter(StmtKind kind, std::string_view object) {
  return kind == StmtKind::kSet && TrackedParameterIndex(object) >= 0;
}

TxStateDecision DecideTxSessionState(const TxStateFacts& f, SessionStatePolicy policy) {
  TxStateDecision d;
  if (f.alreadyPinned) return d;
  d.what = SessionStateOf(f);
  if (d.what.empty()) return d;
  d.verdict = policy == SessionStatePolicy::kPin ? TxStateVerdict::kPin : TxStateVerdict::kRefuse;
  return d;
}

std::string TxStateRefusedMessage(const std::string& what) {
  return what + " is not allowed in transaction pooling mode: it would stay on a backend that other clients "
                "share (proxy.pool.sessionState: refuse; \"pin\" keeps such a client on its backends instead)";
}

}  // namespace pgvigil::proxy
