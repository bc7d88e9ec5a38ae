// SCRAM-SHA-256 (RFC 5802/7677 as PostgreSQL uses it) for both sides of the
// proxy, MD5 password hashing, and base64. The expensive PBKDF2 step is done
// once per (password, salt, iterations) and cached (ScramKeyCache), so a login
// costs a few HMACs. ScramServer/ScramClient are per-login state machines,
// single-threaded; ScramKeyCache is thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include "common/result.h"

namespace pgvigil::proxy {

std::string Base64Encode(std::string_view in);
std::optional<std::string> Base64Decode(std::string_view in);  // nullopt when malformed
std::string RandomBytes(size_t n);  // OpenSSL's CSPRNG; aborts if it fails

// "md5" + hex(md5(password + user)): what PostgreSQL stores for md5 users.
std::string Md5PasswordHash(std::string_view password, std::string_view user);
// Answer to AuthenticationMD5Password: "md5" + hex(md5(hex_part_of(stored) + salt)).
std::string Md5Response(std::string_view stored_md5_hash, std::string_view salt4);

using Key32 = std::array<uint8_t, 32>;

struct ScramKeys {
  std::string salt;  // raw bytes
  int iterations = 4096;
  Key32 storedKey{};
  Key32 serverKey{};
  std::optional<Key32> clientKey;  // known when derived from a password
};

// Derives keys from a password (PBKDF2, expensive).
ScramKeys DeriveScramKeys(std::string_view password, std::string_view salt, int iterations);
// Parses "SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>".
std::optional<ScramKeys> ParseScramVerifier(std::string_view verifier);
std::string FormatScramVerifier(const ScramKeys& keys);

// Caches DeriveScramKeys results. Thread-safe.
class ScramKeyCache {
 public:
  ScramKeys Get(const std::string& password, const std::string& salt, int iterations);
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, ScramKeys> keys_;  // guarded by mu_
};

// Server side of one exchange. Feed the client-first message, send the returned
// server-first, feed the client-final, send the server-final on success.
class ScramServer {
 public:
  // keys: the user's keys; nullopt runs a mock exchange that always fails
  // (unknown user) with a salt that is stable per user name.
  ScramServer(std::optional<ScramKeys> keys, std::string_view user);
  Result<std::string> HandleClientFirst(std::string_view client_first);
  // Ok(server-final) or an error: wrong password, malformed message.
  Result<std::string> HandleClientFinal(std::string_view client_final);

 private:
  std::optional<ScramKeys> keys_;
  ScramKeys mock_;
  std::string clientFirstBare_, serverFirst_, nonce_, gs2Header_;
};

// Client side: what the proxy runs against a backend.
class ScramClient {
 public:
  ScramClient(std::string password, ScramKeyCache* cache);
  std::string ClientFirst();  // "n,,n=,r=<nonce>"
  Result<std::string> HandleServerFirst(std::string_view server_first);  // -> client-final
  Status HandleServerFinal(std::string_view server_final);  // checks the server signature

 private:
  std::string password_;
  ScramKeyCache* cache_;
  std::string clientNonce_, clientFirstBare_, authMessage_;
  Key32 serverKey_{};
};

}  // namespace pgvigil::proxy
