#include "common/node_operation.h"

#include "common/json_fields.h"

namespace pgvigil {

using web::json::value;

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
