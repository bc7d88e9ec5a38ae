#include "common/agent_refusal.h"

#include "common/json_fields.h"

namespace pgvigil {

using web::json::value;

value ToJson(const AgentRefusal& r) {
  value v = value::object();
  v["error"] = value::string(r.error);
  v["reason"] = value::string(r.reason);
  if (r.field) v["field"] = value::string(*r.field);
  if (r.term) v["term"] = value::number(*r.term);
  if (r.running) v["running"] = value::string(*r.running);
  return v;
}

AgentRefusal AgentRefusalFromJson(const value& v, std::vector<std::string>* notes) {
  AgentRefusal r;
  JsonFieldReader f(v, "refusal", notes);
  // An optional string: set only when the field holds one (another type is noted).
  auto opt_str = [&f](const char* key, std::optional<std::string>* out) {
    if (!f.Get(key)) return;
    std::string s;
    f.Str(key, &s);
    if (f.Get(key)->is_string()) *out = s;
  };
  f.Str("error", &r.error);
  f.Str("reason", &r.reason);
  opt_str("field", &r.field);
  f.OptU64("term", &r.term);
  opt_str("running", &r.running);
  return r;
}

bool operator==(const AgentRefusal& a, const AgentRefusal& b) {
  return a.error == b.error && a.reason == b.reason && a.field == b.field && a.term == b.term &&
         a.running == b.running;
}

}  // namespace pgvigil
