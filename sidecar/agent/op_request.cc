#include "sidecar/agent/op_request.h"

#include <cctype>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include <cpprest/json.h>

#include "common/units.h"
#include "sidecar/agent/term_store.h"

namespace pgvigil {

const char* ToString(OpKind k) {
  switch (k) {
    case OpKind::kPromote: return "promote";
    case OpKind::kStop: return "stop";
    case OpKind::kStart: return "start";
    case OpKind::kRestart: return "restart";
    case OpKind::kFollow: return "follow";
    case OpKind::kRebuild: return "rebuild";
    case OpKind::kInit: return "init";
  }
  return "unknown";
}

const char* ToString(RebuildMethod m) {
  switch (m) {
    case RebuildMethod::kAuto: return "auto";
    case RebuildMethod::kRewind: return "rewind";
    case RebuildMethod::kBasebackup: return "basebackup";
  }
  return "unknown";
}

namespace {

using web::json::value;

bool Fail(RequestError* e, const std::string& field, const std::string& reason) {
  e->field = field;
  e->reason = reason;
  return false;
}

bool ParseObject(const std::string& body, value* out, RequestError* e) {
  if (body.empty()) return Fail(e, "body", "a JSON object body is required");
  try {
    *out = value::parse(body);
  } catch (const std::exception& ex) {
    return Fail(e, "body", std::string("not valid JSON: ") + ex.what());
  }
  if (!out->is_object()) return Fail(e, "body", "must be a JSON object");
  return true;
}

bool ReadTermValue(const value& v, uint64_t* term, RequestError* e);

bool ReadTerm(const value& v, uint64_t* term, RequestError* e) {
  if (!ReadTermValue(v, term, e)) return false;
  if (*term > kMaxTerm) return Fail(e, "term", "out of range (at most " + std::to_string(kMaxTerm) + ")");
  return true;
}

bool ReadTermValue(const value& v, uint64_t* term, RequestError* e) {
  if (!v.has_field("term")) return Fail(e, "term", "required");
  const value& t = v.at("term");
  if (t.is_number()) {
    if (!t.as_number().is_uint64()) return Fail(e, "term", "must be a non-negative integer");
    *term = t.as_number().to_uint64();
    return true;
  }
  if (t.is_string()) {
    const std::string s = t.as_string();
    if (s.empty() || s.size() > 20) return Fail(e, "term", "must be a non-negative integer");
    uint64_t n = 0;
    for (char c : s) {
      if (!std::isdigit(static_cast<unsigned char>(c)))
        return Fail(e, "term", "must be a non-negative integer");
      uint64_t d = static_cast<uint64_t>(c - '0');
      if (n > (UINT64_MAX - d) / 10) return Fail(e, "term", "out of range");
      n = n * 10 + d;
    }
    *term = n;
    return true;
  }
  return Fail(e, "term", "must be a non-negative integer");
}

bool ReadString(const value& v, const char* field, std::optional<std::string>* out, RequestError* e) {
  if (!v.has_field(field)) return true;
  const value& f = v.at(field);
  if (!f.is_string()) return Fail(e, field, "must be a string");
  *out = f.as_string();
  return true;
}

bool ValidSlotName(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

}  // namespace

bool ParseTermRequest(const std::string& body, TermRequest* out, RequestError* e) {
  value v;
  if (!ParseObject(body, &v, e)) return false;
  for (const auto& kv : v.as_object())
    if (kv.first != "term") return Fail(e, kv.first, "unknown field");
  return ReadTerm(v, &out->term, e);
}

namespace {

struct OpFields {
  OpKind kind;
  std::set<std::string> fields;
};

const OpFields* FindOp(const std::string& op) {
  static const std::map<std::string, OpFields> kOps = {
      {"promote", {OpKind::kPromote, {"term"}}},
      {"stop", {OpKind::kStop, {"term", "mode", "fenced"}}},
      {"start", {OpKind::kStart, {"term"}}},
      {"restart", {OpKind::kRestart, {"term", "mode", "fenced"}}},
      {"follow", {OpKind::kFollow, {"term", "primary", "slot", "fenced"}}},
      {"rebuild", {OpKind::kRebuild, {"term", "primary", "method", "maxRate", "slot", "fenced"}}},
      {"init", {OpKind::kInit, {"term"}}},
  };
  auto it = kOps.find(op);
  return it == kOps.end() ? nullptr : &it->second;
}

}  // namespace

bool ReadNodeOperationRequest(const std::string& op, const std::string& body, NodeOperationRequest* out,
                              RequestError* e) {
  const OpFields* o = FindOp(op);
  if (!o) return Fail(e, "path", "unknown operation '" + op + "'");
  value v;
  if (!ParseObject(body, &v, e)) return false;
  for (const auto& kv : v.as_object())
    if (!o->fields.count(kv.first)) return Fail(e, kv.first, "unknown field for " + op);
  NodeOperationRequest r;
  if (!ReadTerm(v, &r.term, e)) return false;
  if (v.has_field("fenced")) {
    if (!v.at("fenced").is_boolean()) return Fail(e, "fenced", "must be true or false");
    r.fenced = v.at("fenced").as_bool();
  }
  if (!ReadString(v, "mode", &r.mode, e)) return false;
  if (o->kind == OpKind::kFollow || o->kind == OpKind::kRebuild) {
    if (!v.has_field("primary")) return Fail(e, "primary", "required");
    if (!ReadString(v, "primary", &r.primary, e)) return false;
  }
  if (!ReadString(v, "slot", &r.slot, e) || !ReadString(v, "method", &r.method, e) ||
      !ReadString(v, "maxRate", &r.maxRate, e))
    return false;
  *out = r;
  return true;
}

bool ParseOpRequest(const std::string& op, const std::string& body,
                    const std::function<bool(const std::string&)>& known_node, OpRequest* out,
                    RequestError* e) {
  NodeOperationRequest w;
  if (!ReadNodeOperationRequest(op, body, &w, e)) return false;
  OpRequest r;
  r.kind = FindOp(op)->kind;
  r.term = w.term;
  r.fenced = w.fenced.value_or(false);
  r.mode = w.mode.value_or("fast");
  if (r.mode != "fast" && r.mode != "immediate")
    return Fail(e, "mode", "must be \"fast\" or \"immediate\"");
  if (r.kind == OpKind::kFollow || r.kind == OpKind::kRebuild) {
    r.primary = w.primary.value_or("");
    if (!known_node(r.primary))
      return Fail(e, "primary", "'" + r.primary + "' is not another node of the spec");
    if (w.slot) {
      r.slot = *w.slot;
      if (!ValidSlotName(r.slot)) return Fail(e, "slot", "must be 1-63 characters of a-z, 0-9, _");
    }
  }
  if (r.kind == OpKind::kRebuild) {
    const std::string method = w.method.value_or("auto");
    if (method == "auto") r.method = RebuildMethod::kAuto;
    else if (method == "rewind") r.method = RebuildMethod::kRewind;
    else if (method == "basebackup") r.method = RebuildMethod::kBasebackup;
    else return Fail(e, "method", "must be \"auto\", \"rewind\" or \"basebackup\"");
    if (w.maxRate) {
      auto bytes = ParseSize(*w.maxRate);
      // pg_basebackup accepts 32 kB/s .. 1 GB/s.
      if (!bytes || *bytes < 32 * 1024 || *bytes > (1ull << 30))
        return Fail(e, "maxRate", "must be a size between 32kB and 1GB (per second)");
      r.maxRateBytes = *bytes;
    }
  }
  *out = r;
  return true;
}

}  // namespace pgvigil
