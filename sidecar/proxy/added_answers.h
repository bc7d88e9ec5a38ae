// Which ParseComplete ('1') and CloseComplete ('3') answers of one backend
// cycle (a Query, or an extended-protocol sequence up to its Sync) answer
// messages the proxy added to it, not the client's own: a statement of the
// client's parsed again on a backend that has not got it, a Close sent before
// such a Parse or to make room for one. The client must get every answer to
// its own messages and none to the proxy's.
//
// PostgreSQL answers messages in the order they came, and after an error it
// answers nothing more of the sequence (it skips up to the Sync): the answers
// that come are those of a first part of what was sent. So an answer is the
// proxy's by its place among the answers of its kind in its cycle. (A count
// of answers to swallow per backend, kept until the backend had nothing
// outstanding, took the client's next answer for one of the proxy's that an
// error had skipped: the client got one too few.) The client's own Parse of a
// statement it did not have is noted too, in its place: it prepares the
// statement only if answered; so are its Close of a statement (closes it only
// if answered) and its Parse of the unnamed statement. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pgvigil::proxy {

class AddedAnswers {
 public:
  // The client's own message answered by `kind` ('1' a Parse, '3' a Close)
  // was sent in the cycle, after everything noted before.
  void Client(char kind) { ++sent_[Index(kind)]; }
  // The client's own Parse of a statement it did not have, `statement` at
  // `version` (session mode): it prepares that statement only if answered
  // (PostgreSQL skips a Parse behind an error in its sequence).
  void ClientParse(std::string statement, uint64_t version) {
    Add('1', Who::kClientParse, std::move(statement), version);
  }
  // The client's own Parse of the unnamed statement, at `version`. Unanswered,
  // it was skipped (PostgreSQL keeps the unnamed statement it had) or it
  // failed (PostgreSQL dropped that statement when it began the Parse): told
  // apart by the message noted right before it (AddedClose of a name that
  // never exists, answered unless an error came before), or by nothing noted
  // before it in the cycle (first: it cannot have been skipped).
  void ClientUnnamedParse(uint64_t version, bool first) {
    if (!first) return Add('1', Who::kClientUnnamed, {}, version);
    // The usual sequence (Parse, Bind, Execute, Sync of an unnamed
    // statement): kept without an entry, at place 0.
    firstUnnamed_ = version;
    ++sent_[0];
  }
  // The client's own Close of its statement `statement` (at `version`, 0
  // when the proxy has no such statement): it closes the statement only if
  // answered (PostgreSQL skips a Close behind an error in its sequence).
  // wire: the name the backend knows it by.
  void ClientClose(std::string statement, uint64_t version, std::string wire) {
    Add('3', Who::kClientClose, std::move(statement), version);
    added_.back().wire = std::move(wire);
  }
  // The proxy's Close, and its Parse of the client's statement `statement`
  // at `version` (after_close: right behind a Close of that statement).
  void AddedClose() { Add('3', Who::kProxy, {}, 0); }
  void AddedParse(std::string statement, uint64_t version, bool after_close) {
    Add('1', Who::kProxy, std::move(statement), version, after_close);
  }
  // An answer of `kind` came for the cycle: true when it answers one of the
  // proxy's messages (the client must not get it). When it answers a
  // ClientClose, on_close(statement, version, wire) runs first.
  template <typename F>
  bool Answer(char kind, F&& on_close) {
    if (kind == '1' && firstUnnamed_ && answered_[0] == 0) {
      ++answered_[0];
      return false;
    }
    Entry* e = Answered(kind);
    if (!e) return false;
    if (e->who == Who::kClientClose) on_close(e->statement, e->version, e->wire);
    return e->who == Who::kProxy;
  }
  bool Answer(char kind) {
    return Answer(kind, [](const std::string&, uint64_t, const std::string&) {});
  }
  bool any() const { return !added_.empty() || firstUnnamed_; }  // anything noted but Client()
  // The version of the cycle's last ClientUnnamedParse (0 none).
  uint64_t LastUnnamedParse() const {
    for (size_t i = added_.size(); i-- > 0;)
      if (added_[i].who == Who::kClientUnnamed) return added_[i].version;
    return firstUnnamed_;
  }
  // A ClientParse of `statement` not answered yet.
  bool ParsePending(const std::string& statement) const {
    for (const Entry& e : added_)
      if (e.who == Who::kClientParse && !e.answered && e.statement == statement) return true;
    return false;
  }
  // A ClientClose of `statement` not answered yet.
  bool Closing(const std::string& statement) const {
    for (const Entry& e : added_)
      if (e.who == Who::kClientClose && !e.answered && e.statement == statement) return true;
    return false;
  }
  // When the cycle has ended: each of the proxy's Parses that got no answer
  // (skipped after an error, or failed), as f(statement, version,
  // older_left): the backend has not got that version; older_left: the Close
  // before it got no answer either, so the version the backend had stays.
  template <typename F>
  void UnansweredParses(F&& f) const {
    for (size_t i = 0; i < added_.size(); ++i) {
      const Entry& e = added_[i];
      if (e.kind != '1' || e.answered || e.who != Who::kProxy) continue;
      const bool older_left = e.afterClose && i > 0 && !added_[i - 1].answered;
      f(e.statement, e.version, older_left);
    }
  }
  // When the cycle has ended: each ClientParse that got no answer, as
  // f(statement, version): the backend has not got it.
  template <typename F>
  void UnansweredClientParses(F&& f) const {
    for (const Entry& e : added_)
      if (e.who == Who::kClientParse && !e.answered) f(e.statement, e.version);
  }
  // When the cycle has ended: each ClientUnnamedParse that got no answer,
  // the latest first, as f(version, failed): failed, PostgreSQL has no
  // unnamed statement left; else it skipped the Parse and keeps the one it had.
  template <typename F>
  void UnansweredUnnamedParses(F&& f) const {
    for (size_t i = added_.size(); i-- > 0;) {
      const Entry& e = added_[i];
      if (!e.answered && e.who == Who::kClientUnnamed) f(e.version, i > 0 && added_[i - 1].answered);
    }
    if (firstUnnamed_ && answered_[0] == 0) f(firstUnnamed_, true);
  }

 private:
  enum class Who : uint8_t { kProxy, kClientParse, kClientUnnamed, kClientClose };
  struct Entry {
    char kind;
    uint32_t place;  // among the cycle's messages answered by `kind`
    bool answered;
    bool afterClose;
    Who who;  // the proxy's own message, or a client's the proxy follows
    uint64_t version;
    std::string statement;
    std::string wire;  // ClientClose: the name sent to the backend
  };
  static int Index(char kind) { return kind == '1' ? 0 : 1; }
  void Add(char kind, Who who, std::string statement, uint64_t version, bool after_close = false);
  Entry* Answered(char kind);

  uint64_t firstUnnamed_ = 0;  // ClientUnnamedParse first in the cycle: its version
  uint32_t sent_[2] = {0, 0};
  uint32_t answered_[2] = {0, 0};
  // In the order sent (empty unless the proxy added something or noted a
  // client's Parse or Close it follows).
  std::vector<Entry> added_;
};

}  // namespace pgvigil::proxy
