// Shared by the routing decision's table and invariant tests: the inputs of
// DecideRoute, a cycle built from SQL as the session classifies it, and the
// base session the rows change (idle, connected to the primary only, balancing
// on with disableOnWrite = transaction and readYourWrites, a primary and two
// eligible standbys).
#pragma once

#include <string>

#include "sidecar/proxy/route_decision.h"

namespace pgvigil::proxy::route_test {

struct In {
  CycleSummary c;
  SessionView s;
  ClusterView k;
  BalanceSettings b;
};

// The cycle a client sends: sql classified as the session would, in protocol p.
inline CycleSummary Cycle(const std::string& sql, Protocol p = Protocol::kSimple) {
  SqlClass cls = ClassifySql(sql, ClassifierConfig{});
  CycleSummary c;
  c.protocol = p;
  c.local = cls.route == SqlRoute::kLocal;
  c.needPrimary = cls.route == SqlRoute::kPrimary || cls.route == SqlRoute::kLocal;
  c.broadcast = cls.route == SqlRoute::kAll;
  c.write = cls.write;
  c.txBegin = cls.txBegin;
  c.reads = cls.route == SqlRoute::kRead ? 1 : 0;
  c.kind = cls.kind;
  c.isolation = cls.isolation;
  c.access = cls.access;
  c.functionsUnknown = !cls.functions.empty();
  return c;
}

inline In Base() {
  In in;
  in.s.primaryConnected = true;
  in.k.standbysEligible = 2;
  in.k.standbysAtFloor = 2;
  return in;
}

// The session's standby is connected and part of the open transaction.
inline void StandbyInTx(In& in) {
  in.s.txStatus = 'T';
  in.s.standbyConnected = in.s.standbyEligible = in.s.standbyInTx = true;
  in.s.standbyTxStatus = 'T';
}

// An open transaction whose BEGIN went to the primary alone (the standby's
// deferred); the standby connected, not part of it yet.
inline void StandbyDeferred(In& in) {
  in.s.txStatus = 'T';
  in.s.standbyConnected = in.s.standbyEligible = true;
  in.s.standbyTxDeferred = true;
}

}  // namespace pgvigil::proxy::route_test
