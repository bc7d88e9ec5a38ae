// kube-fake watch streams: one JSON object per line ({"type", "object"}),
// ADDED for the current objects when no resourceVersion is given, then every
// change after it; label/field selector transitions become ADDED/DELETED;
// BOOKMARK events carry only a resourceVersion; timeoutSeconds ends the
// stream cleanly; a resourceVersion older than the history, or a forced
// compaction, ends it with an ERROR event holding a 410 Expired Status.
#include "controller/kube/testing/kube_fake_http.h"

namespace pgvigil::kube::fake {

using web::json::value;

namespace {

std::string Line(const std::string& type, const value& object) {
  value e = value::object();
  e["type"] = value::string(type);
  e["object"] = object;
  return e.serialize() + "\n";
}

std::string Expired(uint64_t asked, uint64_t oldest) {
  return Line("ERROR", StatusReply(410, "Expired", "too old resource version: " + std::to_string(asked) + " (" +
                                                       std::to_string(oldest) + ")")
                           .body);
}

}  // namespace

bool HttpExchange::Watch(KubeFake& f, const FakeRequest& r, const Route& route,
                         const std::function<bool(const std::string&)>& write) {
  auto q = [&](const char* k) { return r.query.count(k) ? r.query.at(k) : std::string(); };
  auto labels = Selector::ParseLabels(q("labelSelector"));
  auto fields = Selector::ParseFields(q("fieldSelector"));
  if (!labels.ok() || !fields.ok())
    return write(Line("ERROR", StatusReply(400, "BadRequest", labels.ok() ? fields.error() : labels.error()).body));
  const ResourceType& t = *route.type;
  bool bookmarks = q("allowWatchBookmarks") == "true" || q("allowWatchBookmarks") == "1";
  auto now = std::chrono::steady_clock::now();
  auto deadline = now + std::chrono::hours(24);
  if (!q("timeoutSeconds").empty()) deadline = now + std::chrono::seconds(std::atol(q("timeoutSeconds").c_str()));
  auto matches = [&](const value& obj) {
    if (!route.ns.empty() && StringField(obj, "metadata.namespace") != route.ns) return false;
    return labels->MatchesObject(obj) && fields->MatchesObject(obj);
  };

  std::vector<std::string> lines;
  uint64_t last = 0, drop_gen, compact_gen;
  {
    std::lock_guard<std::mutex> lock(f.mu_);
    drop_gen = f.dropGeneration_;
    compact_gen = f.compactGeneration_;
    std::string rv = q("resourceVersion");
    if (rv.empty() || rv == "0") {
      for (const auto& obj : f.store_.Objects(t, route.ns))
        if (matches(obj)) lines.push_back(Line("ADDED", obj));
      last = f.store_.revision();
    } else {
      auto parsed = ParseRv(rv);
      if (!parsed) return write(Line("ERROR", StatusReply(400, "BadRequest", "invalid resourceVersion " + rv).body));
      if (!f.store_.EventsAfter(*parsed)) return write(Expired(*parsed, f.store_.compactedRevision()));
      last = *parsed;
    }
  }
  for (const auto& l : lines)
    if (!write(l)) return false;
  auto next_bookmark = std::chrono::steady_clock::now() + f.options_.bookmarkInterval;
  while (true) {
    lines.clear();
    bool end_clean = false, end_abrupt = false;
    {
      std::unique_lock<std::mutex> lock(f.mu_);
      auto wake = std::min(deadline, bookmarks ? next_bookmark : deadline);
      f.changed_.wait_until(lock, wake, [&] {
        return f.stopping_ || f.down_ || f.dropGeneration_ != drop_gen || f.compactGeneration_ != compact_gen ||
               f.store_.revision() > last;
      });
      if (f.stopping_ || f.down_ || f.dropGeneration_ != drop_gen) {
        end_abrupt = true;
      } else if (f.compactGeneration_ != compact_gen) {
        lines.push_back(Expired(last, f.store_.compactedRevision()));
        end_clean = true;
      } else {
        auto events = f.store_.EventsAfter(last);
        if (!events) {
          lines.push_back(Expired(last, f.store_.compactedRevision()));
          end_clean = true;
        } else {
          for (const auto& e : *events) {
            last = e.rv;
            if (e.typeId != t.Id()) continue;
            bool now_in = matches(e.object);
            bool was_in = e.type == "MODIFIED" && !e.before.is_null() ? matches(e.before) : now_in;
            if (e.type == "MODIFIED" && now_in && !was_in) lines.push_back(Line("ADDED", e.object));
            else if (e.type == "MODIFIED" && !now_in && was_in) lines.push_back(Line("DELETED", e.object));
            else if (now_in) lines.push_back(Line(e.type, e.object));
          }
          last = std::max(last, f.store_.revision());
        }
        auto t_now = std::chrono::steady_clock::now();
        if (!end_clean && bookmarks && t_now >= next_bookmark) {
          value b = value::object();
          b["kind"] = value::string(t.kind);
          b["apiVersion"] = value::string(t.ApiVersion());
          b["metadata"] = value::object();
          b["metadata"]["resourceVersion"] = value::string(RvString(last));
          lines.push_back(Line("BOOKMARK", b));
          next_bookmark = t_now + f.options_.bookmarkInterval;
        }
        if (!end_clean && t_now >= deadline) end_clean = true;
      }
    }
    if (end_abrupt) return false;
    for (const auto& l : lines)
      if (!write(l)) return false;
    if (end_clean) return true;
  }
}

}  // namespace pgvigil::kube::fake
