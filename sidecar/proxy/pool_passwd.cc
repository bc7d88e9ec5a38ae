#include "sidecar/proxy/pool_passwd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <fstream>
#include <memory>
#include <sstream>

namespace pgvigil::proxy {

namespace {

bool KeyIv(const std::string& key, uint8_t* k, uint8_t* iv) {
  return EVP_BytesToKey(EVP_aes_256_cbc(), EVP_sha1(), nullptr,
                        reinterpret_cast<const uint8_t*>(key.data()), int(key.size()), 1, k,
                        iv) > 0;
}

Result<std::string> Crypt(const std::string& in, const std::string& key, bool encrypt) {
  uint8_t k[EVP_MAX_KEY_LENGTH], iv[EVP_MAX_IV_LENGTH];
  if (!KeyIv(key, k, iv)) return Result<std::string>::Error("cannot derive AES key");
  std::unique_ptr<EVP_CIPHER_CTX, void (*)(EVP_CIPHER_CTX*)> ctx(EVP_CIPHER_CTX_new(),
                                                                 EVP_CIPHER_CTX_free);
  std::string out(in.size() + 32, '\0');
  int n1 = 0, n2 = 0;
  auto* o = reinterpret_cast<uint8_t*>(out.data());
  auto* i = reinterpret_cast<const uint8_t*>(in.data());
  bool ok = encrypt ? (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, k, iv) == 1 &&
                       EVP_EncryptUpdate(ctx.get(), o, &n1, i, int(in.size())) == 1 &&
                       EVP_EncryptFinal_ex(ctx.get(), o + n1, &n2) == 1)
                    : (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, k, iv) == 1 &&
                       EVP_DecryptUpdate(ctx.get(), o, &n1, i, int(in.size())) == 1 &&
                       EVP_DecryptFinal_ex(ctx.get(), o + n1, &n2) == 1);
  if (!ok) return Result<std::string>::Error(encrypt ? "AES encryption failed"
                                                     : "AES decryption failed (wrong key?)");
  out.resize(size_t(n1 + n2));
  return out;
}

}  // namespace

Result<std::string> AesEncryptPassword(const std::string& password, const std::string& key) {
  auto c = Crypt(password, key, true);
  if (!c.ok()) return c.status();
  return Base64Encode(*c);
}

Result<std::string> AesDecryptPassword(const std::string& b64, const std::string& key) {
  auto raw = Base64Decode(b64);
  if (!raw || raw->empty()) return Result<std::string>::Error("AES entry is not valid base64");
  return Crypt(*raw, key, false);
}

const UserSecret* PasswordFile::Find(const std::string& user) const {
  auto it = users.find(user);
  return it == users.end() ? nullptr : &it->second;
}

PasswordFile ParsePasswordFile(const std::string& text, const std::string& key,
                               int scramIterations) {
  PasswordFile f;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) {
      f.warnings.push_back("line " + std::to_string(lineno) + ": expected user:secret");
      continue;
    }
    UserSecret u;
    u.user = line.substr(0, colon);
    std::string secret = line.substr(colon + 1);
    auto is_md5 = [](const std::string& s) {
      return s.size() == 35 && s.compare(0, 3, "md5") == 0 &&
             s.find_first_not_of("0123456789abcdef", 3) == std::string::npos;
    };
    if (is_md5(secret)) {
      u.md5Hash = secret;
    } else if (secret.compare(0, 14, "SCRAM-SHA-256$") == 0) {
      u.scram = ParseScramVerifier(secret);
      if (!u.scram) {
        f.warnings.push_back("line " + std::to_string(lineno) + ": malformed SCRAM verifier for " + u.user);
        continue;
      }
    } else if (secret.compare(0, 3, "AES") == 0) {
      if (key.empty()) {
        f.warnings.push_back("line " + std::to_string(lineno) + ": AES entry for " + u.user +
                             " but no key file");
        continue;
      }
      auto plain = AesDecryptPassword(secret.substr(3), key);
      if (!plain.ok()) {
        f.warnings.push_back("line " + std::to_string(lineno) + ": " + plain.error() + " for " + u.user);
        continue;
      }
      u.password = *plain;
    } else if (secret.compare(0, 4, "TEXT") == 0) {
      u.password = secret.substr(4);
    } else {
      u.password = secret;
    }
    if (u.password) {
      u.md5Hash = Md5PasswordHash(*u.password, u.user);
      u.scram = DeriveScramKeys(*u.password, RandomBytes(16), scramIterations);  // once per load
    }
    f.users[u.user] = std::move(u);
  }
  return f;
}

Result<std::string> ReadPoolKey(const std::string& key_file) {
  std::ifstream in(key_file);
  if (!in) return Result<std::string>::Error("cannot read key file " + key_file);
  std::string line;
  std::getline(in, line);
  return line;
}

Result<PasswordFile> LoadPasswordFile(const std::string& path, const std::string& key_file) {
  std::string key;
  if (!key_file.empty()) {
    auto k = ReadPoolKey(key_file);
    if (!k.ok()) return k.status();
    key = *k;
  }
  std::ifstream in(path);
  if (!in) return Result<PasswordFile>::Error("cannot read password file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ParsePasswordFile(ss.str(), key);
}

Status WriteAesEntry(const std::string& path, const std::string& user, const std::string& password,
                     const std::string& key) {
  if (user.empty() || user.find(':') != std::string::npos || user.find('\n') != std::string::npos)
    return Status::Error("invalid user name '" + user + "'");
  auto enc = AesEncryptPassword(password, key);
  if (!enc.ok()) return enc.status();
  std::string content, line;
  {
    std::ifstream in(path);
    while (in && std::getline(in, line)) {
      if (line.compare(0, user.size() + 1, user + ":") == 0) continue;  // replaced below
      content += line + "\n";
    }
  }
  content += user + ":AES" + *enc + "\n";
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return Status::Error("cannot write " + tmp);
  bool ok = ::write(fd, content.data(), content.size()) == ssize_t(content.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::Error("cannot write " + path);
  }
  return Status::Ok();
}

}  // namespace pgvigil::proxy
