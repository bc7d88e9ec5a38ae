// ClientSession, the client's prepared statements as PostgreSQL has them: a
// client's Parse or Close changes them only as far as PostgreSQL ran it. A
// Parse of a new named statement prepares it when answered; a Close closes
// when answered; an unnamed Parse replaces the unnamed statement at once
// (later messages of the sequence use it) and the one before comes back when
// PostgreSQL skipped that Parse (it drops it when that Parse fails); a Parse
// of a name the client has gets PostgreSQL's 42P05. What each backend has
// parsed (Parsed) follows the same answers (added_answers.h).
#include <spdlog/spdlog.h>

#include <cstdint>

#include "sidecar/proxy/session.h"

namespace pgvigil::proxy {

namespace {

constexpr uint64_t kAnyVersion = UINT64_MAX;

}  // namespace

bool ClientSession::Closing(const std::string& name) const {
  for (const auto* b : {&primary_, &standby_})
    if (*b)
      for (const auto& c : (*b)->outstanding)
        if (c.added.Closing(name)) return true;
  return false;
}

bool ClientSession::DuplicateParse(const std::string& name) {
  if (name.empty()) return false;
  auto it = statements_.find(name);
  if (it == statements_.end() || Closing(name)) return false;
  // It runs where the statement is, or the backend gets it first: PostgreSQL's
  // own 42P05 answers the Parse there.
  Absorb(it->second.cls, false);
  for (const auto& r : cycle_.refStatements)
    if (r == name) return true;
  cycle_.refStatements.push_back(name);
  return true;
}

bool ClientSession::ParseAwaitsAnswer(const Frame& f) const {
  // The unnamed statement (the usual Parse) is decided at once.
  if (f.bodyLen == 0 || f.body[0] == '\0' || statements_.empty()) return false;
  ParseMsg m;
  if (!ParseParse(f, &m)) return false;  // a malformed one is AddToCycle's to report
  const std::string name(m.name);
  if (!statements_.count(name)) return false;
  for (const auto* b : {&primary_, &standby_}) {
    if (!*b) continue;
    const auto& out = (*b)->outstanding;
    for (size_t i = 0; i + ((*b)->seqOpen ? 1 : 0) < out.size(); ++i)
      if (out[i].added.ParsePending(name)) return true;
  }
  return false;
}

void ClientSession::ClientClosed(Target t, const std::string& name, uint64_t version, const std::string& wire) {
  if (TxMode()) Conn(t)->prepared.erase(wire);
  auto it = statements_.find(name);
  // Parsed again since (a Parse behind the Close): the new statement stays.
  if (it != statements_.end() && it->second.version == version) statements_.erase(it);
  const uint64_t up_to = version ? version : kAnyVersion;
  auto& here = Parsed(t);
  auto p = here.find(name);
  if (p != here.end() && p->second <= up_to) here.erase(p);
  CloseStale(t == Target::kPrimary ? Target::kStandby : Target::kPrimary, name, up_to);
}

void ClientSession::DiscardedAll(Target t, uint64_t at, uint64_t sets_at, bool clients) {
  Conn(t)->prepared.clear();
  auto up_to = [at](auto& m, auto version) {
    for (auto it = m.begin(); it != m.end();) it = version(*it) <= at ? m.erase(it) : std::next(it);
  };
  auto parsed = [](const std::pair<const std::string, uint64_t>& e) { return e.second; };
  up_to(Parsed(t), parsed);
  if (!clients) return;
  up_to(statements_, [](const auto& e) { return e.second.version; });
  sets_.Discarded(sets_at);
  // As before this was told by the answer: the other backend's copies are
  // forgotten too (they would be parsed again there).
  up_to(Parsed(t == Target::kPrimary ? Target::kStandby : Target::kPrimary), parsed);
}

bool ClientSession::DiscardAllInFlight() const {
  for (const auto* b : {&primary_, &standby_})
    if (*b)
      for (const auto& c : (*b)->outstanding)
        if (c.discardAll && !c.silent) return true;
  return false;
}

void ClientSession::CloseStale(Target t, const std::string& name, uint64_t up_to) {
  auto& parsed = Parsed(t);
  auto p = parsed.find(name);
  if (p == parsed.end() || p->second > up_to) return;
  parsed.erase(p);
  BackendConn* b = Conn(t).get();
  if (!b || (TxMode() && !name.empty())) return;
  std::string m;
  AppendClose(&m, 'S', name);
  if (!b->seqOpen) {
    AppendSync(&m);
    b->outstanding.push_back({true});
  }
  b->outstanding.back().added.AddedClose();
  b->Send(m);
}

void ClientSession::RestoreUnnamed(uint64_t version) {
  for (auto& u : unnamedBefore_) {
    if (u.version != version) continue;
    auto it = statements_.find("");
    if (it == statements_.end() || it->second.version != version) return;  // parsed again, or closed
    if (u.same) it->second.version = u.beforeVersion;
    else if (u.beforeVersion == 0) statements_.erase(it);
    else it->second = std::move(*u.before);
    return;
  }
}

void ClientSession::ForgetUnsentParse(bool failed) {
  if (cycle_.unnamedParse) {
    auto it = statements_.find("");
    const bool current = it != statements_.end() && it->second.version == cycle_.parsedVersions[0];
    if (failed) {
      // As PostgreSQL's own error at this Parse: no unnamed statement is left.
      if (current) statements_.erase(it);
      CloseStale(Target::kPrimary, "", kAnyVersion);
      CloseStale(Target::kStandby, "", kAnyVersion);
    } else if (current) {
      if (cycle_.unnamedSame) it->second.version = cycle_.unnamedBeforeVersion;
      else if (cycle_.unnamedBeforeVersion == 0) statements_.erase(it);
      else it->second = std::move(*cycle_.unnamedBefore);
    }
    return;
  }
  if (!cycle_.parseCreates) return;
  auto it = statements_.find(cycle_.parsedHere[0]);
  if (it == statements_.end() || it->second.version != cycle_.parsedVersions[0]) return;
  spdlog::debug("proxy: session of {}: statement \"{}\" is not prepared: its Parse was not sent", peer_, it->first);
  statements_.erase(it);
}

void ClientSession::ForgetUnansweredParses(Target t, const AddedAnswers& added, bool clients) {
  auto& parsed = Parsed(t);
  added.UnansweredClientParses([&](const std::string& name, uint64_t version) {
    auto p = parsed.find(name);
    if (p != parsed.end() && p->second == version) parsed.erase(p);
    if (!clients) return;
    auto it = statements_.find(name);
    if (it == statements_.end() || it->second.version != version) return;  // parsed again since
    statements_.erase(it);
    spdlog::debug("proxy: session of {}: statement \"{}\" is not prepared: {} did not complete its Parse (skipped "
                  "after an error, or failed)",
                  peer_, name, Conn(t)->login().node);
  });
  added.UnansweredUnnamedParses([&](uint64_t version, bool failed) {
    auto p = parsed.find("");
    if (failed) {
      if (p != parsed.end()) parsed.erase(p);  // PostgreSQL dropped it as the Parse began
    } else if (p != parsed.end() && p->second == version) {
      p->second = 0;  // the one it had stays: parsed again at its next use there
    }
    if (!clients) return;
    auto it = statements_.find("");
    if (it == statements_.end() || it->second.version != version) return;  // parsed again since
    if (!failed) {
      RestoreUnnamed(version);
      spdlog::debug("proxy: session of {}: {} skipped its unnamed Parse: the unnamed statement stays as it was",
                    peer_, Conn(t)->login().node);
      return;
    }
    statements_.erase(it);
    CloseStale(t == Target::kPrimary ? Target::kStandby : Target::kPrimary, "", kAnyVersion);
    spdlog::debug("proxy: session of {}: its unnamed Parse failed on {}: no unnamed statement is left", peer_,
                  Conn(t)->login().node);
  });
  if (clients) {
    const uint64_t last = added.LastUnnamedParse();
    size_t done = 0;
    while (done < unnamedBefore_.size() && unnamedBefore_[done].version <= last) ++done;
    if (done) unnamedBefore_.erase(unnamedBefore_.begin(), unnamedBefore_.begin() + long(done));
  }
  added.UnansweredParses([&](const std::string& name, uint64_t version, bool older_left) {
    auto p = parsed.find(name);
    if (p == parsed.end() || p->second != version) return;  // parsed again since
    // A version that matches none: parsed again (after a Close) at its next use there.
    if (older_left) p->second = 0;
    else parsed.erase(p);
    spdlog::debug("proxy: session of {}: statement \"{}\" was not parsed on {} (skipped after an error, or failed)",
                  peer_, name, Conn(t)->login().node);
  });
}

}  // namespace pgvigil::proxy
