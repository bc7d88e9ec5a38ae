#include "sidecar/proxy/scram.h"

#include <cstdio>
#include <cstdlib>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstring>

namespace pgvigil::proxy {

namespace {
const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

Key32 Hmac(const uint8_t* key, size_t key_len, std::string_view data) {
  Key32 out{};
  unsigned int len = 32;
  HMAC(EVP_sha256(), key, int(key_len), reinterpret_cast<const uint8_t*>(data.data()),
       data.size(), out.data(), &len);
  return out;
}
Key32 Sha256(const Key32& in) {
  Key32 out{};
  SHA256(in.data(), in.size(), out.data());
  return out;
}
std::string_view AsView(const Key32& k) {
  return std::string_view(reinterpret_cast<const char*>(k.data()), k.size());
}
bool ConstEq(const Key32& a, const Key32& b) {
  uint8_t d = 0;
  for (size_t i = 0; i < 32; ++i) d |= a[i] ^ b[i];
  return d == 0;
}
std::string Hex(const uint8_t* p, size_t n) {
  static const char* h = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s.push_back(h[p[i] >> 4]);
    s.push_back(h[p[i] & 15]);
  }
  return s;
}
std::string Md5Hex(std::string_view data) {
  uint8_t d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), d, &n, EVP_md5(), nullptr);
  return Hex(d, n);
}
// Value of attribute `a=` in a comma-separated SCRAM message.
std::optional<std::string_view> Attr(std::string_view msg, char a) {
  size_t i = 0;
  while (i <= msg.size()) {
    size_t comma = msg.find(',', i);
    std::string_view part = msg.substr(i, comma == std::string_view::npos ? msg.npos : comma - i);
    if (part.size() >= 2 && part[0] == a && part[1] == '=') return part.substr(2);
    if (comma == std::string_view::npos) break;
    i = comma + 1;
  }
  return std::nullopt;
}
std::string NewNonce() { return Base64Encode(RandomBytes(18)); }
const std::string& MockSecret() {
  static const std::string s = RandomBytes(32);
  return s;
}
}  // namespace

std::string Base64Encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {kB64[v >> 18], kB64[(v >> 12) & 63], kB64[(v >> 6) & 63], kB64[v & 63]};
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += {kB64[v >> 18], kB64[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {kB64[v >> 18], kB64[(v >> 12) & 63], kB64[(v >> 6) & 63], '='};
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    uint32_t v = 0;
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = in[i + j];
      const char* p = c ? std::strchr(kB64, c) : nullptr;
      if (c == '=' && i + 4 == in.size() && j >= 2) {
        ++pad;
        v <<= 6;
        continue;
      }
      if (!p || pad) return std::nullopt;
      v = (v << 6) | uint32_t(p - kB64);
    }
    out.push_back(char(v >> 16));
    if (pad < 2) out.push_back(char(v >> 8));
    if (pad < 1) out.push_back(char(v));
  }
  return out;
}

std::string RandomBytes(size_t n) {
  std::string s(n, '\0');
  // Salts, nonces and cancel secrets must never be predictable: without
  // entropy there is nothing safe to return.
  if (n > 0 && RAND_bytes(reinterpret_cast<uint8_t*>(s.data()), int(n)) != 1) {
    std::fprintf(stderr, "fatal: OpenSSL RAND_bytes failed: no secure random bytes\n");
    std::abort();
  }
  return s;
}

std::string Md5PasswordHash(std::string_view password, std::string_view user) {
  return "md5" + Md5Hex(std::string(password) + std::string(user));
}

std::string Md5Response(std::string_view stored, std::string_view salt4) {
  std::string_view hex = stored.substr(0, 3) == "md5" ? stored.substr(3) : stored;
  return "md5" + Md5Hex(std::string(hex) + std::string(salt4));
}

ScramKeys DeriveScramKeys(std::string_view password, std::string_view salt, int iterations) {
  ScramKeys k;
  k.salt = std::string(salt);
  k.iterations = iterations;
  Key32 salted{};
  PKCS5_PBKDF2_HMAC(password.data(), int(password.size()),
                    reinterpret_cast<const uint8_t*>(salt.data()), int(salt.size()), iterations,
                    EVP_sha256(), 32, salted.data());
  Key32 client = Hmac(salted.data(), 32, "Client Key");
  k.clientKey = client;
  k.storedKey = Sha256(client);
  k.serverKey = Hmac(salted.data(), 32, "Server Key");
  return k;
}

std::optional<ScramKeys> ParseScramVerifier(std::string_view v) {
  const std::string_view prefix = "SCRAM-SHA-256$";
  if (v.substr(0, prefix.size()) != prefix) return std::nullopt;
  v.remove_prefix(prefix.size());
  size_t colon = v.find(':'), dollar = v.find('$'), colon2 = v.rfind(':');
  if (colon == v.npos || dollar == v.npos || colon2 == v.npos || !(colon < dollar && dollar < colon2))
    return std::nullopt;
  ScramKeys k;
  std::string iter(v.substr(0, colon));
  if (iter.empty() || iter.find_first_not_of("0123456789") != std::string::npos || iter.size() > 7)
    return std::nullopt;
  k.iterations = std::stoi(iter);
  auto salt = Base64Decode(v.substr(colon + 1, dollar - colon - 1));
  auto stored = Base64Decode(v.substr(dollar + 1, colon2 - dollar - 1));
  auto server = Base64Decode(v.substr(colon2 + 1));
  if (!salt || !stored || !server || stored->size() != 32 || server->size() != 32 || k.iterations < 1)
    return std::nullopt;
  k.salt = *salt;
  std::memcpy(k.storedKey.data(), stored->data(), 32);
  std::memcpy(k.serverKey.data(), server->data(), 32);
  return k;
}

std::string FormatScramVerifier(const ScramKeys& k) {
  return "SCRAM-SHA-256$" + std::to_string(k.iterations) + ":" + Base64Encode(k.salt) + "$" +
         Base64Encode(AsView(k.storedKey)) + ":" + Base64Encode(AsView(k.serverKey));
}

ScramKeys ScramKeyCache::Get(const std::string& password, const std::string& salt,
                             int iterations) {
  auto key = std::make_tuple(password, salt, iterations);
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = keys_.find(key);
    if (it != keys_.end()) return it->second;
  }
  ScramKeys k = DeriveScramKeys(password, salt, iterations);  // outside the lock
  std::lock_guard<std::mutex> l(mu_);
  if (keys_.size() > 10000) keys_.clear();  // bound memory; entries are cheap to redo
  keys_.emplace(key, k);
  return k;
}

size_t ScramKeyCache::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return keys_.size();
}

ScramServer::ScramServer(std::optional<ScramKeys> keys, std::string_view user)
    : keys_(std::move(keys)) {
  if (!keys_) {
    Key32 h = Hmac(reinterpret_cast<const uint8_t*>(MockSecret().data()), MockSecret().size(), user);
    mock_.salt = std::string(reinterpret_cast<const char*>(h.data()), 16);
    mock_.iterations = 4096;
  }
}

Result<std::string> ScramServer::HandleClientFirst(std::string_view cf) {
  // gs2-header: "n,," or "y,," (client could bind but we did not offer -PLUS).
  if (cf.size() < 3 || (cf[0] != 'n' && cf[0] != 'y') || cf[1] != ',')
    return Result<std::string>::Error(cf.size() >= 1 && cf[0] == 'p'
                                          ? "channel binding is not supported"
                                          : "malformed SCRAM client-first message");
  size_t second = cf.find(',', 2);
  if (second == cf.npos) return Result<std::string>::Error("malformed SCRAM client-first message");
  gs2Header_ = std::string(cf.substr(0, second + 1));
  clientFirstBare_ = std::string(cf.substr(second + 1));
  auto r = Attr(clientFirstBare_, 'r');
  if (!r || r->empty()) return Result<std::string>::Error("SCRAM client nonce missing");
  nonce_ = std::string(*r) + NewNonce();
  const ScramKeys& k = keys_ ? *keys_ : mock_;
  serverFirst_ = "r=" + nonce_ + ",s=" + Base64Encode(k.salt) + ",i=" + std::to_string(k.iterations);
  return serverFirst_;
}

Result<std::string> ScramServer::HandleClientFinal(std::string_view cfinal) {
  size_t p = cfinal.rfind(",p=");
  if (p == cfinal.npos) return Result<std::string>::Error("SCRAM proof missing");
  std::string_view without_proof = cfinal.substr(0, p);
  auto c = Attr(without_proof, 'c');
  auto r = Attr(without_proof, 'r');
  if (!c || !r) return Result<std::string>::Error("malformed SCRAM client-final message");
  auto cb = Base64Decode(*c);
  if (!cb || *cb != gs2Header_) return Result<std::string>::Error("SCRAM channel binding mismatch");
  if (*r != nonce_) return Result<std::string>::Error("SCRAM nonce mismatch");
  auto proof = Base64Decode(cfinal.substr(p + 3));
  if (!proof || proof->size() != 32) return Result<std::string>::Error("malformed SCRAM proof");
  if (!keys_) return Result<std::string>::Error("password authentication failed");
  std::string auth_message = clientFirstBare_ + "," + serverFirst_ + "," + std::string(without_proof);
  Key32 sig = Hmac(keys_->storedKey.data(), 32, auth_message);
  Key32 client_key{};
  for (size_t i = 0; i < 32; ++i) client_key[i] = uint8_t((*proof)[i]) ^ sig[i];
  if (!ConstEq(Sha256(client_key), keys_->storedKey))
    return Result<std::string>::Error("password authentication failed");
  Key32 server_sig = Hmac(keys_->serverKey.data(), 32, auth_message);
  return "v=" + Base64Encode(AsView(server_sig));
}

ScramClient::ScramClient(std::string password, ScramKeyCache* cache)
    : password_(std::move(password)), cache_(cache) {}

std::string ScramClient::ClientFirst() {
  clientNonce_ = NewNonce();
  clientFirstBare_ = "n=,r=" + clientNonce_;
  return "n,," + clientFirstBare_;
}

Result<std::string> ScramClient::HandleServerFirst(std::string_view sf) {
  auto r = Attr(sf, 'r');
  auto s = Attr(sf, 's');
  auto i = Attr(sf, 'i');
  if (!r || !s || !i || r->substr(0, clientNonce_.size()) != clientNonce_)
    return Result<std::string>::Error("malformed SCRAM server-first message");
  auto salt = Base64Decode(*s);
  std::string iter(*i);
  if (!salt || iter.empty() || iter.size() > 7 || iter.find_first_not_of("0123456789") != iter.npos)
    return Result<std::string>::Error("malformed SCRAM salt or iteration count");
  ScramKeys k = cache_->Get(password_, *salt, std::stoi(iter));
  serverKey_ = k.serverKey;
  std::string without_proof = "c=biws,r=" + std::string(*r);
  authMessage_ = clientFirstBare_ + "," + std::string(sf) + "," + without_proof;
  Key32 sig = Hmac(k.storedKey.data(), 32, authMessage_);
  Key32 proof{};
  for (size_t j = 0; j < 32; ++j) proof[j] = (*k.clientKey)[j] ^ sig[j];
  return without_proof + ",p=" + Base64Encode(AsView(proof));
}

Status ScramClient::HandleServerFinal(std::string_view sf) {
  auto v = Attr(sf, 'v');
  if (!v) return Status::Error("SCRAM server-final without signature");
  Key32 expect = Hmac(serverKey_.data(), 32, authMessage_);
  auto got = Base64Decode(*v);
  if (!got || got->size() != 32 || std::memcmp(got->data(), expect.data(), 32) != 0)
    return Status::Error("backend SCRAM server signature mismatch");
  return Status::Ok();
}

}  // namespace pgvigil::proxy
