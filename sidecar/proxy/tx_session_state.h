// Transaction pooling: whether a client statement may run on a backend that
// other clients share, pure. A statement that leaves state in its backend
// beyond the transaction (SET, LISTEN, a temporary table, a session advisory
// lock, SQL PREPARE, a cursor WITH HOLD, LOAD, set_config()) would leak into
// the next client's transactions there, so it is refused or pins the client to
// its backends for the rest of its session, as proxy.pool.sessionState says.
// Except a SET of a parameter the proxy keeps per client (tracked_params.h).
#pragma once

#include <string>
#include <string_view>

#include "common/spec.h"
#include "sidecar/proxy/sql_classifier.h"

namespace pgvigil::proxy {

// What the classifier found in the statement(s) of one client message.
struct TxStateFacts {
  StmtKind kind = StmtKind::kOther;  // the first transaction/session command
  bool createsTemp = false;
  std::string_view sessionState;     // SqlClass::sessionState ("" none)
  bool alreadyPinned = false;        // the client keeps its backends already
  // A SET of a parameter that follows the client (tracked_params.h): the
  // proxy keeps the client's value, so it leaves nothing for other clients.
  bool setsTrackedParameter = false;
};

enum class TxStateVerdict { kAllow, kRefuse, kPin };
const char* ToString(TxStateVerdict v);

struct TxStateDecision {
  TxStateVerdict verdict = TxStateVerdict::kAllow;
  std::string what;  // the session state, for the error and the log ("" when allowed)
};

// The fact setsTrackedParameter from the classifier's kind and object.
bool SetsTrackedParameter(StmtKind kind, std::string_view object);

TxStateDecision DecideTxSessionState(const TxStateFacts& f, SessionStatePolicy policy);

// SQLSTATE and text of the error a refused statement gets.
inline constexpr const char* kTxStateRefusedState = "0A000";  // feature_not_supported
std::string TxStateRefusedMessage(const std::string& what);

}  // namespace pgvigil::proxy
