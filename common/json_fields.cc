#include "common/json_fields.h"

#include <cmath>
#include <exception>

namespace pgvigil {

using web::json::value;

JsonFieldReader::JsonFieldReader(const value& object, std::string path, std::vector<std::string>* notes)
    : o_(object), path_(std::move(path)), notes_(notes) {
  if (!o_.is_object() && !o_.is_null()) Note("", "not an object");
}

const value* JsonFieldReader::Get(const char* key) const {
  if (!o_.is_object() || !o_.has_field(key)) return nullptr;
  const value& f = o_.at(key);
  return f.is_null() ? nullptr : &f;
}

bool JsonFieldReader::Has(const char* key) const { return o_.is_object() && o_.has_field(key); }

std::string JsonFieldReader::Path(const char* key) const {
  return path_.empty() ? key : path_ + "." + key;
}

void JsonFieldReader::Note(const char* key, const std::string& what) const {
  if (notes_) notes_->push_back((*key ? Path(key) : path_) + ": " + what);
}

void JsonFieldReader::Bool(const char* key, bool* out) const {
  if (const value* f = Get(key)) {
    if (f->is_boolean())
      *out = f->as_bool();
    else
      Note(key, "not true or false");
  }
}

void JsonFieldReader::Str(const char* key, std::string* out) const {
  if (const value* f = Get(key)) {
    if (f->is_string())
      *out = f->as_string();
    else
      Note(key, "not a string");
  }
}

bool JsonFieldReader::I64(const char* key, int64_t* out) const {
  const value* f = Get(key);
  if (!f) return false;
  if (f->is_number()) {
    const auto& n = f->as_number();
    if (n.is_int64()) {
      *out = n.to_int64();
      return true;
    }
    // A fraction is cut; a double outside the int64 range (1e300) is no integer:
    // cpprest's to_int64() would cast it unchecked (undefined behaviour).
    const double d = n.is_integral() ? 0.0 : n.to_double();
    if (!n.is_integral() && std::isfinite(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
      *out = static_cast<int64_t>(d);
      return true;
    }
    Note(key, "not an integer");
    return false;
  }
  if (f->is_string()) {
    const std::string& s = f->as_string();
    try {
      size_t used = 0;
      const int64_t n = std::stoll(s, &used);
      if (used == s.size()) {
        *out = n;
        return true;
      }
    } catch (const std::exception&) {
    }
  }
  Note(key, "not an integer");
  return false;
}

bool JsonFieldReader::U64(const char* key, uint64_t* out) const {
  const value* f = Get(key);
  if (f && f->is_number() && f->as_number().is_integral() && !f->as_number().is_int64()) {
    *out = f->as_number().to_uint64();  // above the int64 range
    return true;
  }
  int64_t n = 0;
  if (!I64(key, &n)) return false;
  if (n < 0) {
    Note(key, "negative");
    return false;
  }
  *out = static_cast<uint64_t>(n);
  return true;
}

void JsonFieldReader::Int(const char* key, int* out) const {
  int64_t n = 0;
  if (I64(key, &n)) *out = static_cast<int>(n);
}

void JsonFieldReader::OptU64(const char* key, std::optional<uint64_t>* out) const {
  uint64_t n = 0;
  if (U64(key, &n)) *out = n;
}

void JsonFieldReader::OptI64(const char* key, std::optional<int64_t>* out) const {
  int64_t n = 0;
  if (I64(key, &n)) *out = n;
}

void JsonFieldReader::StrList(const char* key, std::vector<std::string>* out) const {
  Each(key, [&](const value& item, const std::string& path) {
    if (item.is_string())
      out->push_back(item.as_string());
    else if (notes_)
      notes_->push_back(path + ": not a string; left out");
  });
}

namespace json_fields {

bool IsEntry(const value& item, const std::string& path, std::vector<std::string>* notes) {
  if (item.is_object()) return true;
  if (notes) notes->push_back(path + ": not an object; left out");
  return false;
}

value Strings(const std::vector<std::string>& items) {
  value a = value::array(items.size());
  for (size_t i = 0; i < items.size(); ++i) a[i] = value::string(items[i]);
  return a;
}

value StringOrNull(const std::string& s) { return s.empty() ? value::null() : value::string(s); }

}  // namespace json_fields
}  // namespace pgvigil
