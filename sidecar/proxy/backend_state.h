// The life of one proxy -> PostgreSQL backend connection as a state machine,
// pure (no I/O): which moves BackendConn::SetState accepts. Everything else is
// refused (logged, state unchanged), the way pgbouncer's change_server_state()
// refuses impossible moves.
//
//   kConnecting -> kLogin -> kReady <-> kResetting -> kIdle -> kReady (adopted)
//   kReady -> kIdle: transaction pooling parks a backend at a transaction
//                    boundary without a reset (its client's session goes on)
//   any state   -> kClosed (final)
#pragma once

namespace pgvigil::proxy {

enum class BackendState {
  kConnecting,  // TCP connect (and name resolution) in progress
  kLogin,       // startup packet sent; authentication and parameters
  kReady,       // owned by a client session, relaying
  kResetting,   // session ended; DISCARD ALL and the freshness check running
  kIdle,        // in a worker's idle pool, owned by nobody
  kClosed,      // socket closed; final
};

const char* BackendStateName(BackendState s);

// True when a backend connection may move from `from` to `to`.
constexpr bool BackendTransitionAllowed(BackendState from, BackendState to) {
  if (from == BackendState::kClosed) return false;
  if (to == BackendState::kClosed) return true;
  switch (from) {
    case BackendState::kConnecting: return to == BackendState::kLogin;
    case BackendState::kLogin: return to == BackendState::kReady;
    case BackendState::kReady: return to == BackendState::kResetting || to == BackendState::kIdle;
    case BackendState::kResetting: return to == BackendState::kIdle;
    case BackendState::kIdle: return to == BackendState::kReady;
    case BackendState::kClosed: return false;
  }
  return false;
}

}  // namespace pgvigil::proxy
