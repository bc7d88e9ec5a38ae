#include "sidecar/proxy/wire_messages.h"

#include <cstring>

namespace pgvigil::proxy {

bool BodyReader::SearchCString(std::string_view* out) {
  if (pos_ >= n_) return false;
  const void* z = std::memchr(p_ + pos_, 0, n_ - pos_);
  if (!z) return false;
  size_t end = static_cast<const uint8_t*>(z) - p_;
  *out = std::string_view(reinterpret_cast<const char*>(p_ + pos_), end - pos_);
  pos_ = end + 1;
  return true;
}
bool BodyReader::U32(uint32_t* out) {
  if (n_ - pos_ < 4) return false;
  *out = ReadU32(p_ + pos_);
  pos_ += 4;
  return true;
}
bool BodyReader::U16(uint16_t* out) {
  if (n_ - pos_ < 2) return false;
  *out = ReadU16(p_ + pos_);
  pos_ += 2;
  return true;
}
bool BodyReader::U8(uint8_t* out) {
  if (n_ - pos_ < 1) return false;
  *out = p_[pos_++];
  return true;
}
bool BodyReader::Bytes(size_t n, std::string_view* out) {
  if (n_ - pos_ < n) return false;
  *out = std::string_view(reinterpret_cast<const char*>(p_ + pos_), n);
  pos_ += n;
  return true;
}
std::string_view BodyReader::Rest() {
  std::string_view r(reinterpret_cast<const char*>(p_ + pos_), n_ - pos_);
  pos_ = n_;
  return r;
}

std::string StartupParams::Get(const std::string& key) const {
  for (const auto& [k, v] : params)
    if (k == key) return v;
  return "";
}

bool ParseStartupParams(const Frame& f, StartupParams* out) {
  if (f.type != 0 || (f.code >> 16) != 3) return false;
  BodyReader r(f);
  out->params.clear();
  for (;;) {
    std::string_view k, v;
    if (!r.CString(&k)) return false;
    if (k.empty()) break;
    if (!r.CString(&v)) return false;
    out->params.emplace_back(std::string(k), std::string(v));
  }
  return r.AtEnd();
}

bool ParseCancelRequest(const Frame& f, CancelKey* out) {
  BodyReader r(f);
  return f.code == kCancelRequestCode && r.U32(&out->pid) && r.U32(&out->secret) && r.AtEnd();
}

bool ParseQuery(const Frame& f, std::string_view* sql) {
  BodyReader r(f);
  return f.type == 'Q' && r.CString(sql) && r.AtEnd();
}

bool ParseParse(const Frame& f, ParseMsg* out) {
  BodyReader r(f);
  uint16_t n = 0;
  std::string_view types;
  return f.type == 'P' && r.CString(&out->name) && r.CString(&out->query) && r.U16(&n) &&
         r.Bytes(size_t(n) * 4, &types) && r.AtEnd();
}

bool ParseBind(const Frame& f, BindMsg* out) {
  // Only the names matter for routing; the rest is checked for being present.
  BodyReader r(f);
  return f.type == 'B' && r.CString(&out->portal) && r.CString(&out->statement);
}

bool ParseDescribeOrClose(const Frame& f, TargetMsg* out) {
  BodyReader r(f);
  uint8_t kind = 0;
  if ((f.type != 'D' && f.type != 'C') || !r.U8(&kind) || !r.CString(&out->name) || !r.AtEnd())
    return false;
  out->kind = static_cast<char>(kind);
  return out->kind == 'S' || out->kind == 'P';
}

bool ParseExecute(const Frame& f, std::string_view* portal) {
  BodyReader r(f);
  uint32_t max_rows = 0;
  return f.type == 'E' && r.CString(portal) && r.U32(&max_rows) && r.AtEnd();
}

std::string_view ParseDefinition(const Frame& f) {
  ParseMsg m;
  if (!ParseParse(f, &m)) return {};
  size_t skip = m.name.size() + 1;
  return std::string_view(reinterpret_cast<const char*>(f.body) + skip, f.bodyLen - skip);
}

Frame FrameOfMessage(std::string_view message) {
  Frame f;
  f.type = message[0];
  f.body = reinterpret_cast<const uint8_t*>(message.data()) + 5;
  f.bodyLen = uint32_t(message.size() - 5);
  f.size = message.size();
  return f;
}

std::string_view ParseMessageQuery(std::string_view message) {
  if (message.size() < 5) return {};
  ParseMsg m;
  return ParseParse(FrameOfMessage(message), &m) ? m.query : std::string_view{};
}

bool AppendRenamedStatement(const Frame& f, std::string_view name, std::string* out) {
  const char* body = reinterpret_cast<const char*>(f.body);
  std::string_view before, old, after;
  switch (f.type) {
    case 'P': {
      ParseMsg m;
      if (!ParseParse(f, &m)) return false;
      old = m.name;
      break;
    }
    case 'B': {
      BindMsg m;
      if (!ParseBind(f, &m)) return false;
      before = std::string_view(body, m.portal.size() + 1);
      old = m.statement;
      break;
    }
    case 'D':
    case 'C': {
      TargetMsg m;
      if (!ParseDescribeOrClose(f, &m) || m.kind != 'S') return false;
      before = std::string_view(body, 1);
      old = m.name;
      break;
    }
    default:
      return false;
  }
  size_t rest = before.size() + old.size() + 1;
  after = std::string_view(body + rest, f.bodyLen - rest);
  out->push_back(char(f.type));
  AppendU32(out, uint32_t(4 + before.size() + name.size() + 1 + after.size()));
  out->append(before);
  AppendCString(out, name);
  out->append(after);
  return true;
}

bool ParseAuthRequest(const Frame& f, uint32_t* code, std::string_view* data) {
  BodyReader r(f);
  if (f.type != 'R' || !r.U32(code)) return false;
  *data = r.Rest();
  return true;
}

bool ParseParameterStatus(const Frame& f, std::string_view* name, std::string_view* value) {
  BodyReader r(f);
  return f.type == 'S' && r.CString(name) && r.CString(value) && r.AtEnd();
}

bool ParseBackendKeyData(const Frame& f, CancelKey* out) {
  BodyReader r(f);
  return f.type == 'K' && r.U32(&out->pid) && r.U32(&out->secret) && r.AtEnd();
}

bool ParseErrorFields(const Frame& f, ErrorFields* out) {
  BodyReader r(f);
  for (;;) {
    uint8_t code = 0;
    if (!r.U8(&code)) return false;
    if (code == 0) break;
    std::string_view v;
    if (!r.CString(&v)) return false;
    if (code == 'S') out->severity = std::string(v);
    if (code == 'C') out->code = std::string(v);
    if (code == 'M') out->message = std::string(v);
  }
  return r.AtEnd();
}

bool ParseDataRow(const Frame& f, std::vector<std::optional<std::string_view>>* columns) {
  BodyReader r(f);
  uint16_t n = 0;
  if (f.type != 'D' || !r.U16(&n)) return false;
  columns->clear();
  for (uint16_t i = 0; i < n; ++i) {
    uint32_t len = 0;
    if (!r.U32(&len)) return false;
    if (len == 0xffffffffu) {
      columns->emplace_back(std::nullopt);
      continue;
    }
    std::string_view v;
    if (!r.Bytes(len, &v)) return false;
    columns->emplace_back(v);
  }
  return r.AtEnd();
}

bool ParsePasswordMessage(const Frame& f, std::string_view* password) {
  BodyReader r(f);
  return f.type == 'p' && r.CString(password) && r.AtEnd();
}

bool ParseSaslInitial(const Frame& f, std::string_view* mechanism, std::string_view* data) {
  BodyReader r(f);
  uint32_t n = 0;
  if (f.type != 'p' || !r.CString(mechanism) || !r.U32(&n)) return false;
  if (n == 0xffffffffu) {
    *data = {};
    return r.AtEnd();
  }
  return r.Bytes(n, data) && r.AtEnd();
}

void AppendU32(std::string* out, uint32_t v) {
  char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  out->append(b, 4);
}
void AppendU16(std::string* out, uint16_t v) {
  char b[2] = {char(v >> 8), char(v)};
  out->append(b, 2);
}
void AppendCString(std::string* out, std::string_view s) {
  out->append(s.data(), s.size());
  out->push_back('\0');
}

void AppendMessage(std::string* out, char type, std::string_view body) {
  out->push_back(type);
  AppendU32(out, uint32_t(body.size() + 4));
  out->append(body.data(), body.size());
}

namespace {
// Starts a typed message; FinishMessage patches the length.
size_t BeginMessage(std::string* out, char type) {
  out->push_back(type);
  size_t at = out->size();
  out->append(4, '\0');
  return at;
}
void FinishMessage(std::string* out, size_t at) {
  uint32_t n = uint32_t(out->size() - at);
  (*out)[at] = char(n >> 24);
  (*out)[at + 1] = char(n >> 16);
  (*out)[at + 2] = char(n >> 8);
  (*out)[at + 3] = char(n);
}
}  // namespace

void AppendStartup(std::string* out,
                   const std::vector<std::pair<std::string, std::string>>& params) {
  size_t at = out->size();
  out->append(4, '\0');
  AppendU32(out, kProtocolV3);
  for (const auto& [k, v] : params) {
    AppendCString(out, k);
    AppendCString(out, v);
  }
  out->push_back('\0');
  FinishMessage(out, at);
}

void AppendCancelRequest(std::string* out, CancelKey key) {
  AppendU32(out, 16);
  AppendU32(out, kCancelRequestCode);
  AppendU32(out, key.pid);
  AppendU32(out, key.secret);
}

void AppendAuthRequest(std::string* out, uint32_t code, std::string_view data) {
  size_t at = BeginMessage(out, 'R');
  AppendU32(out, code);
  out->append(data.data(), data.size());
  FinishMessage(out, at);
}

void AppendParameterStatus(std::string* out, std::string_view name, std::string_view value) {
  size_t at = BeginMessage(out, 'S');
  AppendCString(out, name);
  AppendCString(out, value);
  FinishMessage(out, at);
}

void AppendBackendKeyData(std::string* out, CancelKey key) {
  size_t at = BeginMessage(out, 'K');
  AppendU32(out, key.pid);
  AppendU32(out, key.secret);
  FinishMessage(out, at);
}

void AppendReadyForQuery(std::string* out, char tx_status) {
  size_t at = BeginMessage(out, 'Z');
  out->push_back(tx_status);
  FinishMessage(out, at);
}

void AppendError(std::string* out, std::string_view severity, std::string_view sqlstate,
                 std::string_view message, char type) {
  size_t at = BeginMessage(out, type);
  out->push_back('S');
  AppendCString(out, severity);
  out->push_back('V');
  AppendCString(out, severity);
  out->push_back('C');
  AppendCString(out, sqlstate);
  out->push_back('M');
  AppendCString(out, message);
  out->push_back('\0');
  FinishMessage(out, at);
}

void AppendPasswordMessage(std::string* out, std::string_view password) {
  size_t at = BeginMessage(out, 'p');
  AppendCString(out, password);
  FinishMessage(out, at);
}

void AppendSaslInitial(std::string* out, std::string_view mechanism, std::string_view data) {
  size_t at = BeginMessage(out, 'p');
  AppendCString(out, mechanism);
  AppendU32(out, uint32_t(data.size()));
  out->append(data.data(), data.size());
  FinishMessage(out, at);
}

void AppendSaslResponse(std::string* out, std::string_view data) {
  AppendMessage(out, 'p', data);
}

void AppendRowDescription(std::string* out, const std::vector<std::string>& columns) {
  size_t at = BeginMessage(out, 'T');
  AppendU16(out, uint16_t(columns.size()));
  for (const auto& c : columns) {
    AppendCString(out, c);
    AppendU32(out, 0);    // table oid
    AppendU16(out, 0);    // column number
    AppendU32(out, 25);   // text
    AppendU16(out, 0xffff);  // typlen -1
    AppendU32(out, 0xffffffffu);  // typmod -1
    AppendU16(out, 0);    // text format
  }
  FinishMessage(out, at);
}

void AppendDataRow(std::string* out, const std::vector<std::string>& values) {
  size_t at = BeginMessage(out, 'D');
  AppendU16(out, uint16_t(values.size()));
  for (const auto& v : values) {
    AppendU32(out, uint32_t(v.size()));
    out->append(v);
  }
  FinishMessage(out, at);
}

void AppendCommandComplete(std::string* out, std::string_view tag) {
  size_t at = BeginMessage(out, 'C');
  AppendCString(out, tag);
  FinishMessage(out, at);
}

void AppendQuery(std::string* out, std::string_view sql) {
  size_t at = BeginMessage(out, 'Q');
  AppendCString(out, sql);
  FinishMessage(out, at);
}

void AppendParse(std::string* out, std::string_view name, std::string_view query) {
  size_t at = BeginMessage(out, 'P');
  AppendCString(out, name);
  AppendCString(out, query);
  AppendU16(out, 0);
  FinishMessage(out, at);
}

void AppendClose(std::string* out, char kind, std::string_view name) {
  size_t at = BeginMessage(out, 'C');
  out->push_back(kind);
  AppendCString(out, name);
  FinishMessage(out, at);
}

void AppendSync(std::string* out) { out->append("S\0\0\0\4", 5); }  // as AppendFlush: one append

void AppendFlush(std::string* out) { out->append("H\0\0\0\4", 5); }
void AppendTerminate(std::string* out) { AppendMessage(out, 'X', {}); }

}  // namespace pgvigil::proxy
