#include "controller/kube/testing/api_status.h"

#include <chrono>
#include <ctime>

namespace pgvigil::kube::fake {

using web::json::value;

Reply StatusReply(int code, const std::string& reason, const std::string& message, const value& details) {
  Reply r;
  r.code = code;
  r.body = value::object();
  r.body["kind"] = value::string("Status");
  r.body["apiVersion"] = value::string("v1");
  r.body["metadata"] = value::object();
  r.body["status"] = value::string("Failure");
  r.body["message"] = value::string(message);
  r.body["reason"] = value::string(reason);
  if (!details.is_null()) r.body["details"] = details;
  r.body["code"] = value::number(code);
  return r;
}

value Field(const value& v, const std::string& dotted) {
  const value* cur = &v;
  size_t start = 0;
  while (true) {
    size_t dot = dotted.find('.', start);
    std::string key = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object() || !cur->has_field(key)) return value::null();
    cur = &cur->at(key);
    if (dot == std::string::npos) return *cur;
    start = dot + 1;
  }
}

std::string StringField(const value& v, const std::string& dotted) {
  value f = Field(v, dotted);
  return f.is_string() ? f.as_string() : "";
}

std::string NowRfc3339() { return Rfc3339In(0); }

std::string Rfc3339In(int64_t seconds) {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() +
                                                       std::chrono::seconds(seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace pgvigil::kube::fake
