#include "sidecar/proxy/added_answers.h"

namespace pgvigil::proxy {

void AddedAnswers::Add(char kind, Who who, std::string statement, uint64_t version, bool after_close) {
  added_.push_back({kind, sent_[Index(kind)]++, false, after_close, who, version, std::move(statement), {}});
}

AddedAnswers::Entry* AddedAnswers::Answered(char kind) {
  const uint32_t place = answered_[Index(kind)]++;
  for (Entry& e : added_) {
    if (e.kind == kind && e.place == place) {
      e.answered = true;
      return &e;
    }
  }
  return nullptr;
}

}  // namespace pgvigil::proxy
