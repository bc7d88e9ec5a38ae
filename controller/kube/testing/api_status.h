// The API's error and list envelopes as kube-fake answers them: Status objects
// (kind Status, status Failure, reason, code, details.causes) and small JSON
// helpers shared by its files.
#pragma once

#include <string>
#include <vector>

#include <cpprest/json.h>

namespace pgvigil::kube::fake {

struct Reply {
  int code = 200;
  web::json::value body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// reason: "NotFound", "AlreadyExists", "Conflict", "Invalid", "BadRequest",
// "Gone"/"Expired", "Forbidden", "Unauthorized", "UnsupportedMediaType", ...
Reply StatusReply(int code, const std::string& reason, const std::string& message,
                  const web::json::value& details = web::json::value::null());

// The field at a dotted path ("metadata.labels"), or null.
web::json::value Field(const web::json::value& v, const std::string& dotted);
std::string StringField(const web::json::value& v, const std::string& dotted);
// The current time as RFC 3339 (seconds) and as a MicroTime (microseconds).
std::string NowRfc3339();
// RFC 3339 (seconds) `seconds` from now (a pod's deletionTimestamp: now + its grace period).
std::string Rfc3339In(int64_t seconds);

}  // namespace pgvigil::kube::fake
