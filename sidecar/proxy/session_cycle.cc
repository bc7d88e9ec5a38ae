// ClientSession, ready state, reading: turns each client message into the
// cycle being routed (ClientSession::Cycle): a Query or FunctionCall with its
// statement's classification, or one extended-protocol message with what it
// parses, binds, describes, closes or executes, and the statements and portals
// it refers to. COPY data goes straight to the backend running the COPY.
// Routing and dispatch of the cycle are in session_routing.cc.
#include <cstring>

#include "sidecar/proxy/session.h"

namespace pgvigil::proxy {

void ClientSession::Cycle::Reset() {
  frame = {};
  bytes.clear();
  kind = 0;
  active = needPrimary = broadcast = txBegin = createsTemp = write = local = false;
  localCmd = LocalCommand::kNone;
  reads = 0;
  reason.clear();
  stmtKind = StmtKind::kOther;
  isolation = TxIsolation::kUnspecified;
  access = TxAccess::kUnspecified;
  statements = 0;
  object.clear();
  ddl = functionsLookedUp = executesOnPrimary = multiStatement = false;
  steps.clear();
  queryStatements = 0;
  boundSet.clear();
  statusMet = 0;
  functions.clear();
  sessionState.clear();
  txErrorState.clear();
  txError.clear();
  refStatements.clear();
  parsedHere.clear();
  parsedVersions.clear();
  parseCreates = false;
  if (unnamedParse) {
    unnamedParse = unnamedSame = false;
    unnamedBeforeVersion = 0;
    unnamedBefore.reset();
  }
  closedStatements.clear();
  boundPortals.clear();
  portalTarget = Target::kNone;
  portalMirrored = false;
}

// Adds one statement's classification to the cycle. executes: it runs in this
// cycle (a Query, or a Bind of a statement; a Parse only prepares it, but picks
// the backend of the sequence, so what it is counts already).
void ClientSession::Absorb(const SqlClass& c, bool executes) {
  // Assignments guarded: this runs for a Parse and a Bind of every statement.
  if (cycle_.sessionState.empty() && !c.sessionState.empty()) cycle_.sessionState = c.sessionState;
  if (c.statements > 1) cycle_.multiStatement = true;
  if (c.route == SqlRoute::kPrimary || c.route == SqlRoute::kLocal) cycle_.needPrimary = true;
  if (c.route == SqlRoute::kAll) cycle_.broadcast = true;
  cycle_.txBegin = cycle_.txBegin || c.txBegin;
  cycle_.createsTemp = cycle_.createsTemp || c.createsTemp;
  cycle_.write = cycle_.write || c.write;
  cycle_.ddl = cycle_.ddl || c.kind == StmtKind::kDdl;
  if (cycle_.reason.empty() || c.route != SqlRoute::kRead) cycle_.reason = c.reason;
  if (c.kind != StmtKind::kOther && c.kind != StmtKind::kDdl && c.kind != StmtKind::kPrepare &&
      cycle_.stmtKind == StmtKind::kOther) {
    cycle_.stmtKind = c.kind;
    cycle_.object = c.object;
  }
  if (cycle_.isolation == TxIsolation::kUnspecified) cycle_.isolation = c.isolation;
  if (cycle_.access == TxAccess::kUnspecified) cycle_.access = c.access;
  if (c.route == SqlRoute::kRead && !c.functions.empty())
    cycle_.functions.insert(cycle_.functions.end(), c.functions.begin(), c.functions.end());
  if (!executes) return;
  ++cycle_.statements;
  if (c.write || c.route == SqlRoute::kPrimary) cycle_.executesOnPrimary = true;
  if (c.route == SqlRoute::kRead) cycle_.reads++;
}

bool ClientSession::ReparseSame(const Frame& f, const std::string& name) {
  // Under transaction pooling a named statement's Parse is renamed: compared
  // in the general path.
  if (TxMode() && !name.empty()) return false;
  auto it = statements_.find(name);
  if (it == statements_.end() || it->second.parse.size() != f.size ||
      std::memcmp(it->second.parse.data(), reinterpret_cast<const char*>(f.body) - 5, f.size) != 0)
    return false;
  // A new version all the same: the backends' copies (parsedOnPrimary_, ...)
  // are of the earlier Parse, which another unnamed one may have replaced since.
  if (name.empty()) {
    cycle_.unnamedParse = cycle_.unnamedSame = true;
    cycle_.unnamedBeforeVersion = it->second.version;
  }
  it->second.version = ++statementVersion_;
  Absorb(it->second.cls, false);
  if (TxMode()) TxCheckExecute(it->second.cls);  // an unnamed EXECUTE of a protocol-level name, again
  cycle_.parsedHere.push_back(name);
  cycle_.parsedVersions.push_back(it->second.version);
  return true;
}

bool ClientSession::HandleReadyFrame(const Frame& f) {
  // A message that only follows its sequence's backend goes at once
  // (session_follow.cc); before any other, what those sent (FlushFollowed).
  if (pinned_ != Target::kNone && !skipUntilSync_ && !cycle_.active && FollowSequence(f)) return true;
  FlushFollowed();
  const char* raw = reinterpret_cast<const char*>(f.body) - 5;
  switch (f.type) {
    case 'X':
      Close("client sent Terminate");
      return true;
    case 'd':
    case 'c':
    case 'f': {
      Target t = copyTarget_ != Target::kNone ? copyTarget_ : pinned_;
      if (t != Target::kNone && Conn(t)) {
        // Backpressure: a client streaming COPY data faster than the backend takes it waits.
        if (Conn(t)->queuedBytes() > (4u << 20)) {
          ScheduleRetry();
          return false;
        }
        Conn(t)->Send(raw, f.size);
      }
      return true;
    }
    default:
      break;
  }
  if (skipUntilSync_) {
    if (f.type == 'S') {
      skipUntilSync_ = false;
      AppendReadyForQuery(&out_.pending, txStatus_);
    }
    return true;
  }
  // An inactive cycle is clean already (see Cycle in session.h).
  if (cycle_.active) cycle_.Reset();
  // Held (not consumed) until the backend's ReadyForQuery runs Process again.
  if (f.type == 'P' && (TxMode() ? TxParseAwaitsAnswer(f) : ParseAwaitsAnswer(f))) return false;
  if (f.type == 'Q' || f.type == 'F') {
    cycle_.kind = f.type;
    cycle_.frame = std::string_view(raw, f.size);  // copied only if it waits (below)
    if (f.type == 'F') {
      cycle_.needPrimary = cycle_.write = true;
      cycle_.reason = "function call";
    } else {
      std::string_view sql;
      if (!ParseQuery(f, &sql)) {
        Fatal("08P01", "invalid Query message", "malformed Query message");
        return true;
      }
      SqlClass c = ClassifySql(sql, shared_->classifier);
      if (c.route == SqlRoute::kLocal) {
        cycle_.local = true;
        cycle_.localCmd = c.local;
      }
      Absorb(c, true);
      if (!c.steps.empty()) {
        cycle_.steps = std::move(c.steps);
        cycle_.queryStatements = uint32_t(c.statements);
      }
      if (TxMode()) TxCheckExecute(c);
      // SQL EXECUTE of a statement the client prepared with the protocol: it
      // must be on the backend that runs the Query (SendCycle parses it there).
      else if (!c.executes.empty() && statements_.count(c.executes)) cycle_.refStatements.push_back(c.executes);
    }
    cycle_.active = true;
    TryDispatch();
    if (cycle_.active) cycle_.Own();  // it waits: the read buffer moves on
    return true;
  }
  // Extended protocol: each message is routed and forwarded on its own.
  AddToCycle(f);
  if (state_ == State::kClosed) return true;
  cycle_.kind = f.type;
  cycle_.active = true;
  TryDispatch();
  if (cycle_.active) cycle_.Own();  // it waits: the read buffer moves on
  return true;
}

void ClientSession::AddToCycle(const Frame& f) {
  const char* raw = reinterpret_cast<const char*>(f.body) - 5;
  const size_t at = cycle_.bytes.size();
  // Sent on from the read buffer; a message transaction pooling rewrites (a
  // statement by the proxy's name: RenameForBackend, 'P' below) from a copy.
  cycle_.frame = std::string_view(raw, f.size);
  auto in = [](const std::vector<std::string>& v, std::string_view n) {
    for (const auto& x : v)
      if (x == n) return true;
    return false;
  };
  switch (f.type) {
    case 'P': {
      ParseMsg m;
      if (!ParseParse(f, &m)) return Fatal("08P01", "invalid Parse message", "malformed Parse message");
      std::string name(m.name);
      if (TxMode() && TxParseRefused(name)) {  // answered with an error, nothing tracked
        // In a failed transaction block PostgreSQL parses only COMMIT and
        // ROLLBACK (TO): the kind decides between this error and 25P02 there.
        cycle_.stmtKind = ClassifySql(m.query, shared_->classifier).kind;
        break;
      }
      if (!TxMode() && DuplicateParse(name)) break;  // PostgreSQL's 42P05, nothing changes
      if (ReparseSame(f, name)) break;
      Statement st;
      st.parse.assign(raw, f.size);
      st.cls = ClassifySql(m.query, shared_->classifier);
      st.version = ++statementVersion_;
      Absorb(st.cls, false);
      if (TxMode()) TxCheckExecute(st.cls);
      if (TxMode() && name.empty() && st.cls.kind == StmtKind::kDeallocate) {
        // An extended-protocol DEALLOCATE of a protocol-level statement: the
        // backend knows it by the proxy's name (parsed there first if it has
        // not got it, so that it succeeds as on PostgreSQL).
        auto o = statements_.find(st.cls.object);
        if (o != statements_.end() && !o->second.server.empty()) {
          st.parse.clear();
          AppendParse(&st.parse, "", "DEALLOCATE " + o->second.server);
          cycle_.frame = {};
          cycle_.bytes.resize(at);
          cycle_.bytes += st.parse;
          if (!in(cycle_.refStatements, st.cls.object)) cycle_.refStatements.push_back(st.cls.object);
        }
      }
      if (TxMode() && !name.empty()) {
        // Transaction pooling: the backends know it by the proxy's name.
        st.server = worker_->StatementName(ParseDefinition(f));
        st.parse.clear();
        (void)AppendRenamedStatement(f, st.server, &st.parse);
        cycle_.frame = {};
        cycle_.bytes.resize(at);
        cycle_.bytes += st.parse;
      }
      cycle_.parsedVersions.push_back(st.version);
      auto old = statements_.find(name);
      if (name.empty()) {
        cycle_.unnamedParse = true;
        if (old != statements_.end()) {
          cycle_.unnamedBeforeVersion = old->second.version;
          cycle_.unnamedBefore = std::move(old->second);  // replaced right below
        }
      }
      // A new statement of the client's (or one replacing a statement whose
      // Close is in flight) only once PostgreSQL answers its Parse.
      cycle_.parseCreates = !name.empty() && (old == statements_.end() || Closing(name));
      statements_.insert_or_assign(name, std::move(st));
      cycle_.parsedHere.push_back(name);
      break;
    }
    case 'B': {
      BindMsg m;
      if (!ParseBind(f, &m)) return Fatal("08P01", "invalid Bind message", "malformed Bind message");
      auto it = statements_.find(std::string(m.statement));
      if (it != statements_.end()) {
        Absorb(it->second.cls, true);
        // A SET runs at its Execute: replayed as a Query when it counts (session_settings.cc).
        if (IsSessionSet(it->second.cls.kind)) cycle_.boundSet = ParseMessageQuery(it->second.parse);
        if (!in(cycle_.parsedHere, m.statement) && !in(cycle_.refStatements, m.statement))
          cycle_.refStatements.emplace_back(m.statement);
        if (TxMode()) RenameForBackend(f, at, it->second);
        // The Bind of an extended-protocol DEALLOCATE (see 'P'): the statement
        // it names must be on this backend.
        const SqlClass& k = it->second.cls;
        if (TxMode() && k.kind == StmtKind::kDeallocate && statements_.count(k.object) &&
            !in(cycle_.refStatements, k.object))
          cycle_.refStatements.push_back(k.object);
      } else if (TxMode()) {
        TxCheckMissing(m.statement);  // never another client's statement
      }
      cycle_.boundPortals.emplace_back(m.portal);
      break;
    }
    case 'D':
    case 'C': {
      TargetMsg m;
      if (!ParseDescribeOrClose(f, &m))
        return Fatal("08P01", "invalid Describe/Close message", "malformed Describe/Close message");
      if (m.kind == 'S') {
        if (TxMode()) {
          auto it = statements_.find(std::string(m.name));
          if (it != statements_.end()) RenameForBackend(f, at, it->second);
          else if (f.type == 'D') TxCheckMissing(m.name);  // a Close of it is harmless: CloseComplete
        }
        if (f.type == 'C') cycle_.closedStatements.emplace_back(m.name);
        else if (!in(cycle_.parsedHere, m.name) && !in(cycle_.refStatements, m.name) &&
                 statements_.count(std::string(m.name)))
          cycle_.refStatements.emplace_back(m.name);
      } else if (!in(cycle_.boundPortals, m.name)) {
        if (const Target* p = portals_.Find(m.name)) cycle_.portalTarget = *p;
        cycle_.portalMirrored = portals_.Mirrored(m.name);
        if (f.type == 'C') portals_.Close(m.name);
      }
      break;
    }
    case 'E': {
      std::string_view portal;
      if (!ParseExecute(f, &portal)) return Fatal("08P01", "invalid Execute message", "malformed Execute message");
      if (!in(cycle_.boundPortals, portal)) {
        if (const Target* p = portals_.Find(portal)) cycle_.portalTarget = *p;
        cycle_.portalMirrored = portals_.Mirrored(portal);
      }
      break;
    }
    default:
      break;
  }
}

}  // namespace pgvigil::proxy
