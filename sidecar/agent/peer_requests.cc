#include "sidecar/agent/peer_requests.h"

namespace pgvigil {

using web::json::value;

namespace {

bool Fail(RequestError* e, const std::string& field, const std::string& reason) {
  e->field = field;
  e->reason = reason;
  return false;
}

bool ParseObject(const std::string& body, value* out, RequestError* e) {
  try {
    *out = value::parse(body);
  } catch (const std::exception& ex) {
    return Fail(e, "body", std::string("not valid JSON: ") + ex.what());
  }
  if (!out->is_object()) return Fail(e, "body", "must be a JSON object");
  return true;
}

// The term check shares ParseTermRequest's rules: parse {"term": ...} alone.
bool ReadTermField(const value& v, uint64_t* term, RequestError* e) {
  if (!v.has_field("term")) return Fail(e, "term", "required");
  auto only = value::object();
  only["term"] = v.at("term");
  TermRequest t;
  if (!ParseTermRequest(only.serialize(), &t, e)) return false;
  *term = t.term;
  return true;
}

bool ReadUint(const value& v, const std::string& field, uint64_t max, uint64_t* out, RequestError* e) {
  if (!v.is_number() || !v.as_number().is_uint64() || v.as_number().to_uint64() > max)
    return Fail(e, field, "must be an integer between 0 and " + std::to_string(max));
  *out = v.as_number().to_uint64();
  return true;
}

}  // namespace

bool ParseRoutingRequest(const std::string& body, uint64_t* term, RoutingTable* table,
                         RequestError* e) {
  value v;
  if (!ParseObject(body, &v, e)) return false;
  for (const auto& kv : v.as_object())
    if (kv.first != "term" && kv.first != "generation" && kv.first != "primary" && kv.first != "nodes")
      return Fail(e, kv.first, "unknown field");
  if (!ReadTermField(v, term, e)) return false;
  RoutingTable t;
  if (!v.has_field("generation")) return Fail(e, "generation", "required");
  if (!ReadUint(v.at("generation"), "generation", UINT64_MAX, &t.generation, e)) return false;
  if (v.has_field("primary")) {
    if (!v.at("primary").is_string()) return Fail(e, "primary", "must be a string (empty: no primary)");
    t.primary = v.at("primary").as_string();
  }
  if (!v.has_field("nodes") || !v.at("nodes").is_array()) return Fail(e, "nodes", "must be an array");
  const auto& nodes = v.at("nodes").as_array();
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::string f = "nodes[" + std::to_string(i) + "]";
    const value& n = nodes.at(i);
    if (!n.is_object()) return Fail(e, f, "must be an object");
    RouteNode r;
    for (const auto& kv : n.as_object()) {
      const std::string& k = kv.first;
      const value& x = kv.second;
      if (k == "name" || k == "host") {
        if (!x.is_string() || x.as_string().empty()) return Fail(e, f + "." + k, "must be a non-empty string");
        (k == "name" ? r.name : r.host) = x.as_string();
      } else if (k == "port") {
        uint64_t p = 0;
        if (!ReadUint(x, f + ".port", 65535, &p, e)) return false;
        if (p == 0) return Fail(e, f + ".port", "must be between 1 and 65535");
        r.port = static_cast<int>(p);
      } else if (k == "weight") {
        uint64_t w = 0;
        if (!ReadUint(x, f + ".weight", 1000000, &w, e)) return false;
        r.weight = static_cast<int>(w);
      } else if (k == "up") {
        if (!x.is_boolean()) return Fail(e, f + ".up", "must be true or false");
        r.up = x.as_bool();
      } else {
        return Fail(e, f + "." + k, "unknown field");
      }
    }
    if (r.name.empty()) return Fail(e, f + ".name", "required");
    if (r.host.empty()) return Fail(e, f + ".host", "required");
    for (const auto& other : t.nodes)
      if (other.name == r.name) return Fail(e, f + ".name", "duplicate node '" + r.name + "'");
    t.nodes.push_back(r);
  }
  if (!t.primary.empty()) {
    bool found = false;
    for (const auto& n : t.nodes) found = found || n.name == t.primary;
    if (!found) return Fail(e, "primary", "'" + t.primary + "' is not among nodes");
  }
  *table = t;
  return true;
}

bool ParseRegisterWrite(const std::string& body, WatchdogRegisterWrite* out, RequestError* e) {
  value v;
  if (!ParseObject(body, &v, e)) return false;
  for (const auto& kv : v.as_object())
    if (kv.first != "term" && kv.first != "doc" && kv.first != "timeoutMs")
      return Fail(e, kv.first, "unknown field");
  WatchdogRegisterWrite w;
  if (!ReadTermField(v, &w.term, e)) return false;
  if (!v.has_field("doc") || !v.at("doc").is_object()) return Fail(e, "doc", "must be a JSON object");
  w.doc = v.at("doc");
  if (v.has_field("timeoutMs")) {
    uint64_t ms = 0;
    if (!ReadUint(v.at("timeoutMs"), "timeoutMs", 60000, &ms, e)) return false;
    if (ms == 0) return Fail(e, "timeoutMs", "must be between 1 and 60000");
    w.timeoutMs = ms;
  }
  *out = std::move(w);
  return true;
}

std::chrono::milliseconds RegisterWriteTimeout(const WatchdogRegisterWrite& w) {
  return std::chrono::milliseconds(w.timeoutMs.value_or(5000));
}

}  // namespace pgvigil
