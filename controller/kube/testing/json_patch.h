// JSON merge patch (RFC 7386) and JSON patch (RFC 6902) on cpprestsdk JSON
// values, for kube-fake (the API-server test double). Pure.
#pragma once

#include <string>

#include <cpprest/json.h>

#include "common/result.h"

namespace pgvigil::kube::fake {

// RFC 7386: objects merge recursively, null removes, anything else replaces.
web::json::value MergePatch(const web::json::value& target, const web::json::value& patch);

// RFC 6902 operations in order, all or nothing. A failed `test` or a path that
// does not exist is an error (the API server answers 422); a malformed patch
// document is an error starting with "malformed" (400).
Result<web::json::value> JsonPatch(const web::json::value& target, const web::json::value& ops);

}  // namespace pgvigil::kube::fake
