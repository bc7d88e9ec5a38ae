#include "sidecar/watchdog/state_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <cpprest/json.h>

#include "common/files.h"

namespace pgvigil {
namespace watchdog {

using web::json::value;

std::string SerializeState(const StoredState& s) {
  value v = value::object();
  v["term"] = value::number(s.election.term);
  v["votedFor"] = value::number(s.election.votedFor);
  v["incarnation"] = value::number(s.incarnation);
  value r = value::object();
  r["term"] = value::number(s.election.reg.term);
  r["version"] = value::number(s.election.reg.version);
  r["doc"] = value::string(s.election.reg.doc);
  v["register"] = r;
  return v.serialize() + "\n";
}

Result<StoredState> ParseState(const std::string& text) {
  StoredState s;
  try {
    value v = value::parse(text);
    const value& r = v.at("register");
    s.election.term = v.at("term").as_number().to_uint64();
    s.election.votedFor = v.at("votedFor").as_integer();
    s.incarnation = v.at("incarnation").as_number().to_uint32();
    s.election.reg.term = r.at("term").as_number().to_uint64();
    s.election.reg.version = r.at("version").as_number().to_uint64();
    s.election.reg.doc = r.at("doc").as_string();
  } catch (const std::exception& e) {
    return Result<StoredState>::Error(std::string("malformed watchdog state: ") + e.what());
  }
  if (s.election.votedFor < -1 || s.election.votedFor > 254)
    return Result<StoredState>::Error("malformed watchdog state: votedFor out of range");
  return s;
}

std::string StateFilePath(const std::string& state_dir) { return state_dir + "/watchdog.json"; }

Result<StoredState> LoadState(const std::string& state_dir) {
  std::string path = StateFilePath(state_dir);
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return StoredState{};
    return Result<StoredState>::Error(path + ": " + std::strerror(errno));
  }
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  auto parsed = ParseState(*text);
  if (!parsed.ok()) return parsed.status().Context(path);
  return parsed;
}

Status SaveState(const std::string& state_dir, const StoredState& s) {
  return WriteFileAtomic(StateFilePath(state_dir), SerializeState(s), 0600);
}

uint32_t NextIncarnation(uint32_t stored, uint64_t unix_seconds) {
  uint64_t next = stored + uint64_t{1};
  if (unix_seconds > next) next = unix_seconds;
  return next > 0xFFFFFFFFull ? 0xFFFFFFFFu : static_cast<uint32_t>(next);
}

}  // namespace watchdog
}  // namespace pgvigil
