#include "common/node_operation.h"

#include <tuple>

#include "common/json_fields.h"

namespace pgvigil {

using web::json::value;

value ToJson(const NodeOperationRequest& r) {
  value v = value::object();
  v["term"] = value::number(r.term);
  if (r.fenced) v["fenced"] = value::boolean(*r.fenced);
  if (r.mode) v["mode"] = value::string(*r.mode);
  if (r.primary) v["primary"] = value::string(*r.primary);
  if (r.slot) v["slot"] = value::string(*r.slot);
  if (r.method) v["method"] = value::string(*r.method);
  if (r.maxRate) v["maxRate"] = value::string(*r.maxRate);
  return v;
}

value ToJson(const TermRequest& r) {
  value v = value::object();
  v["term"] = value::number(r.term);
  return v;
}

bool operator==(const NodeOperationRequest& a, const NodeOperationRequest& b) {
  return std::tie(a.term, a.fenced, a.mode, a.primary, a.slot, a.method, a.maxRate) ==
         std::tie(b.term, b.fenced, b.mode, b.primary, b.slot, b.method, b.maxRate);
}

value ToJson(const NodeOperationStarted& s) {
  value v = value::object();
  v["id"] = value::string(s.id);
  v["operation"] = ToJson(s.operation);
  return v;
}

NodeOperationStarted NodeOperationStartedFromJson(const value& v, std::vector<std::string>* notes) {
  JsonFieldReader r(v, "", notes);
  NodeOperationStarted s;
  r.Str("id", &s.id);
  if (const value* o = r.Get("operation")) s.operation = SidecarOperationFromJson(*o, notes);
  return s;
}

bool operator==(const NodeOperationStarted& a, const NodeOperationStarted& b) {
  return a.id == b.id && a.operation == b.operation;
}

}  // namespace pgvigil
