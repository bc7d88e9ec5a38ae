// Reading and writing the fields of the sidecar's REST documents
// (common/sidecar_status.h, common/watchdog_detail.h) the one tolerant way:
// a missing or null field is its default; a field of another type is its
// default too and is named, with its path, in `notes`; integers may come as a
// string holding a whole integer. Pure.
#pragma once

#include <cpprest/json.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pgvigil {

// Reads the fields of one object (`path` names it in notes: "postgres",
// "members[2]"). An object that is neither an object nor null is noted once.
class JsonFieldReader {
 public:
  JsonFieldReader(const web::json::value& object, std::string path, std::vector<std::string>* notes);

  // The field, or null when it is missing, null or the value is no object.
  const web::json::value* Get(const char* key) const;
  // Present, null included (a field written as null has a meaning of its own).
  bool Has(const char* key) const;
  std::string Path(const char* key) const;
  void Note(const char* key, const std::string& what) const;
  std::vector<std::string>* notes() const { return notes_; }

  void Bool(const char* key, bool* out) const;
  void Str(const char* key, std::string* out) const;
  // A number (a fraction is cut; a double outside the int64 range is noted) or a
  // string holding a whole integer; false (and *out unchanged) when missing, null
  // or of another type (noted).
  bool I64(const char* key, int64_t* out) const;
  bool U64(const char* key, uint64_t* out) const;  // a negative number is noted too
  void Int(const char* key, int* out) const;
  void OptU64(const char* key, std::optional<uint64_t>* out) const;
  void OptI64(const char* key, std::optional<int64_t>* out) const;

  // Each element of an array field that `read` takes (it notes those it does not).
  template <typename F>
  void Each(const char* key, F read) const {
    const web::json::value* f = Get(key);
    if (!f) return;
    if (!f->is_array()) {
      Note(key, "not a list");
      return;
    }
    const auto& items = f->as_array();
    for (size_t i = 0; i < items.size(); ++i)
      read(items.at(i), Path(key) + "[" + std::to_string(i) + "]");
  }
  void StrList(const char* key, std::vector<std::string>* out) const;

 private:
  const web::json::value& o_;
  const std::string path_;
  std::vector<std::string>* notes_;
};

namespace json_fields {

// An object element of a list, or a note ("<path>: not an object; left out") and false.
bool IsEntry(const web::json::value& item, const std::string& path, std::vector<std::string>* notes);
web::json::value Strings(const std::vector<std::string>& items);
// "" is written as null.
web::json::value StringOrNull(const std::string& s);

}  // namespace json_fields
}  // namespace pgvigil
