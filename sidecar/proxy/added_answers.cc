#include "sidecar/proxy/added_answers.h"

namespace pgvigil::proxy {

void AddedAnswers::Add(char kind, std::string statement, uint64_t version, bool after_close, bool client) {
  added_.push_back({kind, sent_[Index(kind)]++, false, after_close, client, version, std::move(statement)});
}

bool AddedAnswers::Answer(char kind) {
  const uint32_t place = answered_[Index(kind)]++;
  for (Entry& e : added_) {
    if (e.kind == kind && e.place == place) {
      e.answered = true;
      return !e.client;
    }
  }
  return false;
}

}  // namespace pgvigil::proxy
