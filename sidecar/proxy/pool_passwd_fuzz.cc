// libFuzzer target (-DPGVIGIL_FUZZ=ON): pool_passwd text with its AES key.
// Input: KEY '\n' FILE TEXT (an empty first line: no key file).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sidecar/proxy/pool_passwd.h"

using namespace pgvigil::proxy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string key = in.substr(0, nl);
  std::string text = nl == std::string::npos ? std::string() : in.substr(nl + 1);
  // One PBKDF2 round: 4096 per user made each run take tens of milliseconds.
  PasswordFile f = ParsePasswordFile(text, key, /*scramIterations=*/1);
  for (const auto& [name, user] : f.users) {
    if (name.empty() || name != user.user || f.Find(name) != &user) std::abort();
    if (!user.md5Hash.empty() && user.md5Hash.compare(0, 3, "md5") != 0) std::abort();
  }
  if (!key.empty()) {
    (void)AesDecryptPassword(text, key);
    auto enc = AesEncryptPassword(text, key);
    // What we encrypt decrypts back to itself.
    if (enc.ok()) {
      auto dec = AesDecryptPassword(*enc, key);
      if (!dec.ok() || *dec != text) std::abort();
    }
  }
  return 0;
}
