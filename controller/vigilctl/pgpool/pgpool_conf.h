// Reading pgpool.conf the way Pgpool-II does (src/config/pool_config.l): a file of
// `key = value` settings ("=" optional), '#' comments, values that are a word, a
// number (optionally with a unit such as 5min or 10MB) or a single-quoted string,
// and `include = 'file'` (relative to the including file, at most 10 deep).
// Like Pgpool-II, a quoted string keeps its backslashes as written. Unlike
// Pgpool-II, two quotes inside a quoted string ('it''s') are read as one quote,
// with a warning: Pgpool-II itself rejects such a line.
// Every setting keeps its file and line; a key set twice is kept twice (the last
// one wins when the settings are applied) and reported.
// Pure: files named by include are read through the loader given by the caller.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace pgvigil::pgpool {

struct Setting {
  std::string key;    // as written (Pgpool-II keys are case-sensitive)
  std::string value;  // quotes removed
  std::string file;
  int line = 0;
  bool quoted = false;
};

// A problem found while reading: errors make the file unusable, warnings do not.
struct ConfMessage {
  bool error = false;
  std::string file;
  int line = 0;
  std::string text;
  std::string Where() const { return file + ":" + std::to_string(line); }
};

struct PgpoolConf {
  std::vector<Setting> settings;  // file order, includes expanded in place
  std::vector<ConfMessage> messages;
  bool ok() const;
  // The effective setting of each key (the last one), and the ones it overrode.
  std::map<std::string, const Setting*> Effective() const;
};

using FileLoader = std::function<Result<std::string>(const std::string& path)>;

// `text` is the content of `path`; `load` reads included files (may be null when the
// caller knows there are none: an include then is an error).
PgpoolConf ParsePgpoolConf(const std::string& text, const std::string& path,
                           const FileLoader& load = nullptr);

// The directory part of a path ("" for none), and a path resolved against a directory.
std::string DirName(const std::string& path);
std::string ResolvePath(const std::string& dir, const std::string& path);

}  // namespace pgvigil::pgpool
