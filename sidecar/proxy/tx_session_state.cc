#include "sidecar/proxy/tx_session_state.h"

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
  if (!f.sessionState.empty()) return std::string(f.sessionState);
  if (f.createsTemp) return "a temporary table";
  switch (f.kind) {
    // SET without LOCAL outlives the transaction even inside one.
    case StmtKind::kSet: return "SET (session level; SET LOCAL is allowed)";
    case StmtKind::kSetSessionCharacteristics: return "SET SESSION CHARACTERISTICS";
    // RESET, DISCARD and DEALLOCATE only undo state; SET LOCAL and SET
    // TRANSACTION end with the transaction.
    default: return "";
  }
}
}  // namespace

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
