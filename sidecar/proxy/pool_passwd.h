// The pool_passwd password file (Pgpool-II format, one "user:secret" per line)
// and its AES entries. Secrets: "md5<32 hex>", "SCRAM-SHA-256$...", "AES<base64>"
// (AES-256-CBC, key and IV from the key file's first line with OpenSSL's
// EVP_BytesToKey(SHA-1, no salt, 1 round), as Pgpool-II's pg_enc writes them),
// "TEXT<password>" or a bare plain password. Pure apart from the file helpers.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "sidecar/proxy/scram.h"

namespace pgvigil::proxy {

struct UserSecret {
  std::string user;
  std::optional<std::string> password;  // plain text (TEXT, bare or decrypted AES)
  std::string md5Hash;                  // "md5..." (from an md5 entry or the password)
  std::optional<ScramKeys> scram;       // from a verifier, or derived once from the password
};

// Parsed file. Lines that cannot be used are skipped and reported in warnings.
struct PasswordFile {
  std::map<std::string, UserSecret> users;
  std::vector<std::string> warnings;
  const UserSecret* Find(const std::string& user) const;
};

// key: the AES key text (first line of the key file) or empty when none.
// Derives SCRAM keys for password entries with a fresh salt (once, here), with
// scramIterations PBKDF2 rounds (PostgreSQL's default; the fuzz target passes 1
// so that key derivation does not take nearly all of its time).
constexpr int kPoolPasswdScramIterations = 4096;
PasswordFile ParsePasswordFile(const std::string& text, const std::string& key,
                               int scramIterations = kPoolPasswdScramIterations);
Result<PasswordFile> LoadPasswordFile(const std::string& path, const std::string& key_file);

// Pgpool-II pool key: the first line of the key file, without its newline.
Result<std::string> ReadPoolKey(const std::string& key_file);
Result<std::string> AesEncryptPassword(const std::string& password, const std::string& key);
Result<std::string> AesDecryptPassword(const std::string& base64, const std::string& key);

// Adds or replaces "user:AES<base64>" in the file (created with mode 0600).
Status WriteAesEntry(const std::string& path, const std::string& user, const std::string& password,
                     const std::string& key);

}  // namespace pgvigil::proxy
