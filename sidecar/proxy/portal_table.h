// A client session's open portals: the backend each was bound on (Where: the
// session's target enum, Where{} meaning none) and whether the standby got
// it too (bound with a mirrored BEGIN, SET ...). The unnamed portal, which
// most clients use for every statement, has a slot of its own: binding,
// finding and closing it costs no hashing and no allocation. Pure, header
// only; one session's, used on its thread.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace pgvigil::proxy {

template <typename Where>
class PortalTable {
 public:
  // Where the portal was bound; null when unknown (closed, dropped, never bound).
  const Where* Find(std::string_view name) const {
    if (name.empty()) return unnamedBound_ ? &unnamed_ : nullptr;
    auto it = named_.find(std::string(name));
    return it == named_.end() ? nullptr : &it->second;
  }
  // Bound on the standby too. Kept apart from Find: a backend dropped
  // (DropOn) forgets its portals, not whether they were mirrored.
  bool Mirrored(std::string_view name) const {
    if (name.empty()) return unnamedMirrored_;
    return !mirrored_.empty() && mirrored_.count(std::string(name)) > 0;
  }
  void Bind(std::string_view name, Where where, bool mirrored) {
    if (name.empty()) {
      unnamedBound_ = true;
      unnamed_ = where;
      unnamedMirrored_ = mirrored;
      return;
    }
    named_[std::string(name)] = where;
    if (mirrored) mirrored_.insert(std::string(name));
    else if (!mirrored_.empty()) mirrored_.erase(std::string(name));
  }
  void Close(std::string_view name) {
    if (name.empty()) {
      unnamedBound_ = unnamedMirrored_ = false;
      return;
    }
    named_.erase(std::string(name));
    if (!mirrored_.empty()) mirrored_.erase(std::string(name));
  }
  // At the end of a transaction (PostgreSQL drops every portal then).
  void Clear() {
    unnamedBound_ = unnamedMirrored_ = false;
    if (!named_.empty()) named_.clear();
    if (!mirrored_.empty()) mirrored_.clear();
  }
  // A backend dropped: the portals bound there are gone.
  void DropOn(Where where) {
    if (unnamedBound_ && unnamed_ == where) unnamedBound_ = false;
    for (auto it = named_.begin(); it != named_.end();) it = it->second == where ? named_.erase(it) : std::next(it);
  }

 private:
  bool unnamedBound_ = false, unnamedMirrored_ = false;
  Where unnamed_{};
  std::unordered_map<std::string, Where> named_;
  std::unordered_set<std::string> mirrored_;
};

}  // namespace pgvigil::proxy
