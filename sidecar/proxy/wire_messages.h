// Parsing of the message bodies the proxy needs to look into, and encoders for
// the messages it writes itself. Pure; parsers validate the whole body (every
// string terminated, no bytes left over) and return false when malformed.
// Encoders append to a caller-owned std::string so buffers can be reused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sidecar/proxy/wire_decoder.h"

namespace pgvigil::proxy {

// A cursor over a message body.
class BodyReader {
 public:
  BodyReader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  explicit BodyReader(const Frame& f) : p_(f.body), n_(f.bodyLen) {}
  bool CString(std::string_view* out) {
    // The empty name most clients give statements and portals: no search.
    if (pos_ < n_ && p_[pos_] == 0) {
      *out = std::string_view(reinterpret_cast<const char*>(p_ + pos_), 0);
      ++pos_;
      return true;
    }
    return SearchCString(out);
  }
  bool U32(uint32_t* out);
  bool U16(uint16_t* out);
  bool U8(uint8_t* out);
  bool Bytes(size_t n, std::string_view* out);
  std::string_view Rest();
  bool AtEnd() const { return pos_ == n_; }

 private:
  bool SearchCString(std::string_view* out);
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

struct StartupParams {
  std::vector<std::pair<std::string, std::string>> params;  // in order, user/database included
  std::string Get(const std::string& key) const;
};
bool ParseStartupParams(const Frame& f, StartupParams* out);

struct CancelKey {
  uint32_t pid = 0;
  uint32_t secret = 0;
};
bool ParseCancelRequest(const Frame& f, CancelKey* out);

bool ParseQuery(const Frame& f, std::string_view* sql);  // 'Q'
struct ParseMsg {
  std::string_view name, query;
};
bool ParseParse(const Frame& f, ParseMsg* out);  // 'P'
struct BindMsg {
  std::string_view portal, statement;
};
bool ParseBind(const Frame& f, BindMsg* out);  // 'B' (names only)
struct TargetMsg {
  char kind = 0;  // 'S' statement, 'P' portal
  std::string_view name;
};
bool ParseDescribeOrClose(const Frame& f, TargetMsg* out);  // 'D' / 'C' frontend
bool ParseExecute(const Frame& f, std::string_view* portal);  // 'E' frontend
// What makes two Parse messages prepare the same statement: the body after the
// name (query text and parameter types). Empty when f is not a valid Parse.
std::string_view ParseDefinition(const Frame& f);
// A Frame over a whole message held in memory (header included, at least 5
// bytes; its length field is not read). It points into `message`.
Frame FrameOfMessage(std::string_view message);
// The query text of a whole Parse message (header included, as a prepared
// statement keeps it); empty when it is not a well-formed Parse.
std::string_view ParseMessageQuery(std::string_view message);
// Appends frontend message f (Parse, Bind, or Describe / Close of a statement)
// with its prepared statement name replaced by `name`. False, nothing
// appended, when f is none of these or malformed.
bool AppendRenamedStatement(const Frame& f, std::string_view name, std::string* out);

// Backend messages.
bool ParseAuthRequest(const Frame& f, uint32_t* code, std::string_view* data);  // 'R'
bool ParseParameterStatus(const Frame& f, std::string_view* name, std::string_view* value);
bool ParseBackendKeyData(const Frame& f, CancelKey* out);
struct ErrorFields {
  std::string severity, code, message;
};
bool ParseErrorFields(const Frame& f, ErrorFields* out);  // 'E' / 'N' backend
// DataRow ('D'): each column's bytes, nullopt for NULL.
bool ParseDataRow(const Frame& f, std::vector<std::optional<std::string_view>>* columns);
// Frontend 'p' bodies, by context.
bool ParsePasswordMessage(const Frame& f, std::string_view* password);
bool ParseSaslInitial(const Frame& f, std::string_view* mechanism, std::string_view* data);

// ---- encoders (append) ----
void AppendMessage(std::string* out, char type, std::string_view body);
void AppendU32(std::string* out, uint32_t v);
void AppendU16(std::string* out, uint16_t v);
void AppendCString(std::string* out, std::string_view s);

void AppendStartup(std::string* out, const std::vector<std::pair<std::string, std::string>>& params);
void AppendCancelRequest(std::string* out, CancelKey key);
void AppendAuthRequest(std::string* out, uint32_t code, std::string_view data = {});
void AppendParameterStatus(std::string* out, std::string_view name, std::string_view value);
void AppendBackendKeyData(std::string* out, CancelKey key);
void AppendReadyForQuery(std::string* out, char tx_status);
// ErrorResponse ('E') or NoticeResponse ('N').
void AppendError(std::string* out, std::string_view severity, std::string_view sqlstate,
                 std::string_view message, char type = 'E');
void AppendPasswordMessage(std::string* out, std::string_view password);
void AppendSaslInitial(std::string* out, std::string_view mechanism, std::string_view data);
void AppendSaslResponse(std::string* out, std::string_view data);
// Text-format result set helpers for locally answered queries (SHOW pool_nodes).
void AppendRowDescription(std::string* out, const std::vector<std::string>& columns);
void AppendDataRow(std::string* out, const std::vector<std::string>& values);
void AppendCommandComplete(std::string* out, std::string_view tag);
void AppendQuery(std::string* out, std::string_view sql);
void AppendParse(std::string* out, std::string_view name, std::string_view query);
void AppendClose(std::string* out, char kind, std::string_view name);
void AppendSync(std::string* out);
void AppendFlush(std::string* out);
void AppendTerminate(std::string* out);

}  // namespace pgvigil::proxy
