// vigilctl encrypt-password -k KEYFILE -u USER [-f POOL_PASSWD] [PASSWORD]
// Encrypts a password with the pool key the way Pgpool-II's `pg_enc -m -k` does
// (AES-256-CBC, base64), so existing pool_passwd files and keys keep working.
// With -f, adds or replaces "USER:AES..." in that file; without, prints the line.
// The password comes from the argument, else the first line of stdin (no echo on
// a terminal).
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <string>

#include "controller/vigilctl/commands.h"
#include "sidecar/proxy/pool_passwd.h"

namespace pgvigil {

namespace {
std::string ReadPasswordFromStdin() {
  bool tty = isatty(STDIN_FILENO);
  termios old{};
  if (tty) {
    std::cerr << "password: " << std::flush;
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~tcflag_t(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}
}  // namespace

int CmdEncryptPassword(const CommandLine& cl) {
  std::string key_file = cl.Value("-k", cl.Value("--key-file"));
  std::string user = cl.Value("-u", cl.Value("--user"));
  std::string file = cl.Value("-f", cl.Value("--pool-passwd"));
  if (!cl.Unknown().empty() || key_file.empty() || user.empty() || cl.Positional().size() > 1) {
    std::cerr << "usage: vigilctl encrypt-password -k KEYFILE -u USER [-f POOL_PASSWD] [PASSWORD]\n";
    return 2;
  }
  auto key = proxy::ReadPoolKey(key_file);
  if (!key.ok()) {
    std::cerr << "vigilctl: " << key.error() << "\n";
    return 1;
  }
  if (key->empty()) {
    std::cerr << "vigilctl: key file " << key_file << " has an empty first line\n";
    return 1;
  }
  std::string password = cl.Positional().empty() ? ReadPasswordFromStdin() : cl.Positional()[0];
  if (password.empty()) {
    std::cerr << "vigilctl: empty password\n";
    return 1;
  }
  if (file.empty()) {
    auto enc = proxy::AesEncryptPassword(password, *key);
    if (!enc.ok()) {
      std::cerr << "vigilctl: " << enc.error() << "\n";
      return 1;
    }
    std::cout << user << ":AES" << *enc << "\n";
    return 0;
  }
  if (Status s = proxy::WriteAesEntry(file, user, password, *key); !s.ok()) {
    std::cerr << "vigilctl: " << s.message() << "\n";
    return 1;
  }
  std::cout << "user " << user << " written to " << file << "\n";
  return 0;
}

}  // namespace pgvigil
