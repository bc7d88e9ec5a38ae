// ClientSession, ready state: the messages that follow the first one of an
// extended-protocol sequence (Parse, Bind, Describe, Execute ... Sync). The
// first message picks the backend (pinned_); for the Bind, Describe and
// Execute of a read that come after it, TryDispatch and DecideRoute can only
// answer "the pinned backend, nothing else" and AfterDispatch only records the
// portal bound and counts the read; the Sync after them only ends the
// sequence there. FollowSequence checks exactly the conditions under which
// that holds and then does just that, with no cycle built, classified,
// decided and reset for each message, and the run of such messages leaves in
// one piece (Forward). Whenever a condition does not hold (a write, a portal
// of the other backend, a statement to parse again first, a silent mirror
// sequence, a statement transaction pooling renames, a wait, a commit LSN
// query to send after the Sync ...) the message goes the general way
// (session_cycle.cc, session_routing.cc), unchanged.
#include "sidecar/proxy/session.h"

namespace pgvigil::proxy {

const ClientSession::Statement* ClientSession::ParsedOn(Target t, std::string_view name) {
  auto it = statements_.find(std::string(name));
  if (it == statements_.end()) return nullptr;
  auto& parsed = Parsed(t);
  auto p = parsed.find(it->first);
  return p != parsed.end() && p->second == it->second.version ? &it->second : nullptr;
}

bool ClientSession::MayFollow(Target t, const BackendConn& b, bool sync) const {
  // What TryDispatch checks before routing: anything that makes it wait,
  // answer an error or log each message.
  if (probing_ || adminPending_ || !pendingError_.empty() || TraceOn()) return false;
  if (!b.seqOpen || BusyOtherThan(t)) return false;
  if (sync || t == Target::kPrimary) return true;
  // A standby: the sequence stays there only while reads may be balanced.
  const auto& lbs = shared_->spec.proxy.loadBalancing;
  if (connectingStandby_ || !lbs.enabled || noLoadBalance_) return false;
  return !ReadsStayOnPrimary(wrote_, txStatus_ != 'I', lbs.disableOnWrite);
}

bool ClientSession::PrimaryStaysRouted() {
  // As TryDispatch: the primary must still be routing's primary, and an idle
  // standby that left balancing is dropped by the general way.
  if (connectingPrimary_) return false;
  RoutingOnUse r(worker_);
  if (r->primary < 0) return false;
  if (standby_ && standby_->outstanding.empty() && txStatus_ == 'I') {
    int i = StandbyIndex(*r);
    if (i < 0 || !r->nodes[size_t(i)].lbEligible) return false;
  }
  return true;
}

bool ClientSession::FollowSequence(const Frame& f) {
  const bool sync = f.type == 'S';
  if (!sync && f.type != 'B' && f.type != 'D' && f.type != 'E') return false;
  const Target t = pinned_;
  BackendConn* b = Conn(t).get();
  if (!b) return false;
  // In a run (the message before this one in the batch went to b the same
  // way) what MayFollow reads is as it was then: only followed messages came
  // since, and those change none of it.
  if (followed_.to != b && !MayFollow(t, *b, sync)) return false;
  const char* raw = reinterpret_cast<const char*>(f.body) - 5;
  if (sync) {
    // The sequence ends here, as DispatchSyncOrFlush ends it, when no silent
    // mirror sequence is open on the other backend; a Sync with a body (not
    // one PostgreSQL accepts) goes the general way, which sends a clean one.
    const BackendConn* other = Conn(t == Target::kPrimary ? Target::kStandby : Target::kPrimary).get();
    if (f.bodyLen != 0 || (other && other->seqOpen)) return false;
    if (lsnWanted_ && t == Target::kPrimary) return false;  // the commit LSN query goes behind it
    Forward(t, raw, f.size);
    b->seqOpen = false;
    pinned_ = Target::kNone;
    UpdateBusyCount();
    return true;
  }
  // The routing snapshot may change between two messages: read for each.
  if (t == Target::kPrimary && !PrimaryStaysRouted()) return false;
  // A portal used here must be on this backend alone (one mirrored on the
  // standby makes the decision "both").
  auto portal_here = [&](std::string_view portal) {
    const Target* p = portals_.Find(portal);
    return (!p || *p == t) && !portals_.Mirrored(portal);
  };
  switch (f.type) {
    case 'B': {
      BindMsg m;
      if (!ParseBind(f, &m)) return false;
      const Statement* st = ParsedOn(t, m.statement);
      // Transaction pooling: a named statement is renamed for the backend.
      if (!st || !st->server.empty()) return false;
      // A plain read: nothing of it reaches the decision or AfterDispatch but
      // the read count (see Absorb).
      const SqlClass& c = st->cls;
      if (c.route != SqlRoute::kRead || c.write || c.txBegin || c.createsTemp || c.kind != StmtKind::kOther ||
          !c.sessionState.empty())
        return false;
      Forward(t, raw, f.size);
      portals_.Bind(m.portal, t, false);
      CountReads(t, 1);
      return true;
    }
    case 'D': {
      TargetMsg m;
      if (!ParseDescribeOrClose(f, &m)) return false;
      if (m.kind == 'S') {
        auto it = statements_.find(std::string(m.name));
        // Parsed there already, and (transaction pooling) not renamed; under
        // transaction pooling one the client has not got is answered by the
        // proxy (TxCheckMissing).
        if (it == statements_.end() ? TxMode() : !it->second.server.empty() || !ParsedOn(t, m.name)) return false;
      } else if (!portal_here(m.name)) {
        return false;
      }
      Forward(t, raw, f.size);
      return true;
    }
    default: {  // 'E'
      std::string_view portal;
      if (!ParseExecute(f, &portal) || !portal_here(portal)) return false;
      Forward(t, raw, f.size);
      b->outstanding.back().executes++;  // SessionSets places its steps by it (NoteSetChange)
      pipelined_ = true;
      return true;
    }
  }
}

void ClientSession::Forward(Target t, const char* data, size_t n) {
  const BackendConn* to = Conn(t).get();
  if (followed_.to == to && followed_.data + followed_.size == data) {
    followed_.size += n;
    return;
  }
  FlushFollowed();
  followed_ = {t, to, data, n};
}

void ClientSession::SendFollowed() {
  // Dropped with the session: its backends, mid-sequence, are closed, not pooled.
  if (state_ != State::kClosed && Conn(followed_.t).get() == followed_.to)
    Conn(followed_.t)->Send(followed_.data, followed_.size);
  followed_ = {};
}

}  // namespace pgvigil::proxy
