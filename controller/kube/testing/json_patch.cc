#include "controller/kube/testing/json_patch.h"

#include <vector>

namespace pgvigil::kube::fake {

using web::json::value;

value MergePatch(const value& target, const value& patch) {
  if (!patch.is_object()) return patch;
  value out = target.is_object() ? target : value::object();
  for (const auto& [key, v] : patch.as_object()) {
    if (v.is_null()) {
      if (out.has_field(key)) out.erase(key);
    } else {
      out[key] = MergePatch(out.has_field(key) ? out.at(key) : value::null(), v);
    }
  }
  return out;
}

namespace {

// "/a/b~1c/0" -> {"a", "b/c", "0"}; false when not a JSON pointer.
bool SplitPointer(const std::string& ptr, std::vector<std::string>* out) {
  out->clear();
  if (ptr.empty()) return true;
  if (ptr[0] != '/') return false;
  std::string cur;
  for (size_t i = 1; i <= ptr.size(); ++i) {
    if (i == ptr.size() || ptr[i] == '/') {
      out->push_back(cur);
      cur.clear();
    } else if (ptr[i] == '~') {
      if (i + 1 >= ptr.size() || (ptr[i + 1] != '0' && ptr[i + 1] != '1')) return false;
      cur.push_back(ptr[i + 1] == '0' ? '~' : '/');
      ++i;
    } else {
      cur.push_back(ptr[i]);
    }
  }
  return true;
}

bool ArrayIndex(const std::string& s, size_t size, bool allow_end, size_t* index) {
  if (allow_end && s == "-") {
    *index = size;
    return true;
  }
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos ||
      (s.size() > 1 && s[0] == '0'))
    return false;
  *index = std::stoul(s);
  return *index < size + (allow_end ? 1 : 0);
}

// The parent container of the pointer's last token, or nullptr.
value* Parent(value* doc, const std::vector<std::string>& parts) {
  value* cur = doc;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (cur->is_object()) {
      if (!cur->has_field(parts[i])) return nullptr;
      cur = &cur->at(parts[i]);
    } else if (cur->is_array()) {
      size_t idx;
      if (!ArrayIndex(parts[i], cur->size(), false, &idx)) return nullptr;
      cur = &cur->at(idx);
    } else {
      return nullptr;
    }
  }
  return cur;
}

Result<value> Get(value* doc, const std::string& path) {
  std::vector<std::string> parts;
  if (!SplitPointer(path, &parts)) return Result<value>::Error("malformed path '" + path + "'");
  if (parts.empty()) return *doc;
  value* p = Parent(doc, parts);
  const std::string& last = parts.back();
  if (p && p->is_object() && p->has_field(last)) return p->at(last);
  size_t idx;
  if (p && p->is_array() && ArrayIndex(last, p->size(), false, &idx)) return p->at(idx);
  return Result<value>::Error("path '" + path + "' does not exist");
}

Status Remove(value* doc, const std::string& path) {
  std::vector<std::string> parts;
  if (!SplitPointer(path, &parts) || parts.empty()) return Status::Error("malformed path '" + path + "'");
  value* p = Parent(doc, parts);
  const std::string& last = parts.back();
  if (p && p->is_object() && p->has_field(last)) {
    p->erase(last);
    return Status::Ok();
  }
  size_t idx;
  if (p && p->is_array() && ArrayIndex(last, p->size(), false, &idx)) {
    p->erase(idx);
    return Status::Ok();
  }
  return Status::Error("path '" + path + "' does not exist");
}

Status Add(value* doc, const std::string& path, const value& v, bool replace) {
  std::vector<std::string> parts;
  if (!SplitPointer(path, &parts)) return Status::Error("malformed path '" + path + "'");
  if (parts.empty()) {
    *doc = v;
    return Status::Ok();
  }
  value* p = Parent(doc, parts);
  const std::string& last = parts.back();
  if (p && p->is_object()) {
    if (replace && !p->has_field(last)) return Status::Error("path '" + path + "' does not exist");
    (*p)[last] = v;
    return Status::Ok();
  }
  size_t idx;
  if (p && p->is_array() && ArrayIndex(last, p->size(), !replace, &idx)) {
    if (replace) {
      p->at(idx) = v;
      return Status::Ok();
    }
    std::vector<value> items;
    for (size_t i = 0; i < p->size(); ++i) {
      if (i == idx) items.push_back(v);
      items.push_back(p->at(i));
    }
    if (idx == p->size()) items.push_back(v);
    *p = value::array(std::move(items));
    return Status::Ok();
  }
  return Status::Error("path '" + path + "' does not exist");
}

}  // namespace

Result<value> JsonPatch(const value& target, const value& ops) {
  if (!ops.is_array()) return Result<value>::Error("malformed: a JSON patch is an array of operations");
  value doc = target;
  for (size_t i = 0; i < ops.size(); ++i) {
    const value& op = ops.at(i);
    std::string where = "operation " + std::to_string(i) + ": ";
    if (!op.is_object() || !op.has_string_field("op") || !op.has_string_field("path"))
      return Result<value>::Error("malformed: " + where + "needs op and path");
    const std::string kind = op.at("op").as_string(), path = op.at("path").as_string();
    bool needs_value = kind == "add" || kind == "replace" || kind == "test";
    if (needs_value && !op.has_field("value"))
      return Result<value>::Error("malformed: " + where + kind + " needs a value");
    bool needs_from = kind == "move" || kind == "copy";
    if (needs_from && !op.has_string_field("from"))
      return Result<value>::Error("malformed: " + where + kind + " needs from");
    Status st;
    if (kind == "add" || kind == "replace") {
      st = Add(&doc, path, op.at("value"), kind == "replace");
    } else if (kind == "remove") {
      st = Remove(&doc, path);
    } else if (kind == "test") {
      auto cur = Get(&doc, path);
      if (!cur.ok()) return Result<value>::Error(where + "test: " + cur.error());
      if (*cur != op.at("value"))
        return Result<value>::Error(where + "test failed: '" + path + "' is " + cur->serialize() + ", not " +
                                    op.at("value").serialize());
    } else if (needs_from) {
      const std::string from = op.at("from").as_string();
      auto v = Get(&doc, from);
      if (!v.ok()) return Result<value>::Error(where + kind + ": " + v.error());
      if (kind == "move") {
        if (path.rfind(from + "/", 0) == 0) return Result<value>::Error(where + "cannot move into itself");
        st = Remove(&doc, from);
      }
      if (st.ok()) st = Add(&doc, path, *v, false);
    } else {
      return Result<value>::Error("malformed: " + where + "unknown op '" + kind + "'");
    }
    if (!st.ok()) return Result<value>::Error(where + kind + ": " + st.message());
  }
  return doc;
}

}  // namespace pgvigil::kube::fake
