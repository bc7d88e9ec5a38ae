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
// statement only if answered. Pure.
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
  void ClientParse(std::string statement, uint64_t version) { Add('1', std::move(statement), version, false, true); }
  // The proxy's Close, and its Parse of the client's statement `statement`
  // at `version` (after_close: right behind a Close of that statement).
  void AddedClose() { Add('3', {}, 0, false, false); }
  void AddedParse(std::string statement, uint64_t version, bool after_close) {
    Add('1', std::move(statement), version, after_close, false);
  }
  // An answer of `kind` came for the cycle: true when it answers one of the
  // proxy's messages (the client must not get it).
  bool Answer(char kind);
  bool any() const { return !added_.empty(); }  // anything noted but Client()
  // When the cycle has ended: each of the proxy's Parses that got no answer
  // (skipped after an error, or failed), as f(statement, version,
  // older_left): the backend has not got that version; older_left: the Close
  // before it got no answer either, so the version the backend had stays.
  template <typename F>
  void UnansweredParses(F&& f) const {
    for (size_t i = 0; i < added_.size(); ++i) {
      const Entry& e = added_[i];
      if (e.kind != '1' || e.answered || e.client) continue;
      const bool older_left = e.afterClose && i > 0 && !added_[i - 1].answered;
      f(e.statement, e.version, older_left);
    }
  }
  // When the cycle has ended: each ClientParse that got no answer, as
  // f(statement, version): the backend has not got it.
  template <typename F>
  void UnansweredClientParses(F&& f) const {
    for (const Entry& e : added_)
      if (e.client && !e.answered) f(e.statement, e.version);
  }

 private:
  struct Entry {
    char kind;
    uint32_t place;  // among the cycle's messages answered by `kind`
    bool answered;
    bool afterClose;
    bool client;  // ClientParse: answered to the client all the same
    uint64_t version;
    std::string statement;
  };
  static int Index(char kind) { return kind == '1' ? 0 : 1; }
  void Add(char kind, std::string statement, uint64_t version, bool after_close, bool client);

  uint32_t sent_[2] = {0, 0};
  uint32_t answered_[2] = {0, 0};
  // In the order sent (empty unless the proxy added something or the client
  // parsed a statement it did not have).
  std::vector<Entry> added_;
};

}  // namespace pgvigil::proxy
