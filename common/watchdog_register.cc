#include "common/watchdog_register.h"

#include <tuple>

#include "common/json_fields.h"

namespace pgvigil {

using web::json::value;

value ToJson(const WatchdogRegisterValue& r) {
  value v = value::object();
  v["term"] = value::number(r.term);
  v["version"] = value::number(r.version);
  v["durable"] = value::boolean(r.durable);
  v["doc"] = r.doc;
  return v;
}

value ToJson(const WatchdogRegisterWrite& w) {
  value v = value::object();
  v["term"] = value::number(w.term);
  v["doc"] = w.doc;
  if (w.timeoutMs) v["timeoutMs"] = value::number(*w.timeoutMs);
  return v;
}

value ToJson(const WatchdogRegisterWritten& w) {
  value v = value::object();
  v["version"] = value::number(w.version);
  return v;
}

Result<WatchdogRegisterValue> WatchdogRegisterValueFromJson(const value& v, std::vector<std::string>* notes) {
  if (!v.is_object() || !v.has_field("version"))
    return Result<WatchdogRegisterValue>::Error("watchdog register has no 'version'");
  JsonFieldReader r(v, "", notes);
  WatchdogRegisterValue out;
  r.U64("term", &out.term);
  r.U64("version", &out.version);
  r.Bool("durable", &out.durable);
  if (const value* doc = r.Get("doc")) out.doc = *doc;
  return out;
}

Result<WatchdogRegisterWritten> WatchdogRegisterWrittenFromJson(const value& v, std::vector<std::string>* notes) {
  if (!v.is_object() || !v.has_field("version"))
    return Result<WatchdogRegisterWritten>::Error("register write answer has no 'version'");
  JsonFieldReader r(v, "", notes);
  WatchdogRegisterWritten out;
  r.U64("version", &out.version);
  return out;
}

bool operator==(const WatchdogRegisterValue& a, const WatchdogRegisterValue& b) {
  return std::tie(a.term, a.version, a.doc, a.durable) == std::tie(b.term, b.version, b.doc, b.durable);
}
bool operator==(const WatchdogRegisterWrite& a, const WatchdogRegisterWrite& b) {
  return std::tie(a.term, a.doc, a.timeoutMs) == std::tie(b.term, b.doc, b.timeoutMs);
}
bool operator==(const WatchdogRegisterWritten& a, const WatchdogRegisterWritten& b) {
  return a.version == b.version;
}

}  // namespace pgvigil
