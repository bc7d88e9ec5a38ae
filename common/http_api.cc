#include "common/http_api.h"

#include <openssl/crypto.h>

#include <cctype>

namespace pgvigil {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool PercentDecode(const std::string& in, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

}  // namespace

Status ParseRequestTarget(const std::string& target, std::string* path,
                          std::map<std::string, std::string>* query) {
  if (target.empty() || target[0] != '/')
    return Status::Error("the request target must be a path starting with '/'");
  // A fragment is never sent by a conforming client; drop it like a URI parser would.
  std::string t = target.substr(0, target.find('#'));
  size_t q = t.find('?');
  std::string raw_path = t.substr(0, q);
  std::string raw_query = q == std::string::npos ? "" : t.substr(q + 1);
  if (!PercentDecode(raw_path, path)) return Status::Error("malformed %-escape in the path");
  query->clear();
  size_t start = 0;
  while (start < raw_query.size()) {
    size_t amp = raw_query.find('&', start);
    std::string pair = raw_query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    start = amp == std::string::npos ? raw_query.size() : amp + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key, value;
    if (!PercentDecode(pair.substr(0, eq), &key) ||
        !PercentDecode(eq == std::string::npos ? "" : pair.substr(eq + 1), &value))
      return Status::Error("malformed %-escape in the query");
    (*query)[key] = value;
  }
  return Status::Ok();
}

bool BearerTokenMatches(const std::string& header, const std::string& expected) {
  const std::string prefix = "Bearer ";
  if (expected.empty()) return false;
  if (header.size() < prefix.size()) return false;
  // Scheme is case-insensitive (RFC 7235).
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  }
  std::string given = header.substr(prefix.size());
  // Compare over the expected length whatever the given length, so timing does
  // not reveal how many leading bytes matched; the lengths are compared last.
  std::string padded = given;
  padded.resize(expected.size(), '\0');
  bool same = CRYPTO_memcmp(padded.data(), expected.data(), expected.size()) == 0;
  return same && given.size() == expected.size();
}

ApiResponse JsonResponse(int status, const web::json::value& body) {
  ApiResponse r;
  r.status = status;
  r.body = body.serialize();
  return r;
}

ApiResponse ErrorResponse(int status, const std::string& reason, const std::string& field) {
  auto v = web::json::value::object();
  v["error"] = web::json::value::string(reason);
  if (!field.empty()) v["field"] = web::json::value::string(field);
  return JsonResponse(status, v);
}

}  // namespace pgvigil
