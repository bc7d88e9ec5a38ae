// Expected failures as values. A Status is cheap when OK (an empty string);
// Result<T> holds either a T or an error Status. Neither throws.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace pgvigil {

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message), true); }

  bool ok() const { return !failed_; }
  const std::string& message() const { return message_; }
  // Prefixes the message with context ("loading spec: ..."); no-op when OK.
  Status Context(const std::string& what) const {
    return ok() ? *this : Error(what + ": " + message_);
  }

 private:
  Status(std::string message, bool failed) : message_(std::move(message)), failed_(failed) {}
  std::string message_;
  bool failed_ = false;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}                // NOLINT: implicit by design
  Result(Status error) : error_(std::move(error)) {}           // NOLINT: implicit by design
  static Result Error(std::string message) { return Result(Status::Error(std::move(message))); }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return error_; }
  const std::string& error() const { return error_.message(); }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }

 private:
  std::optional<T> value_;
  Status error_;
};

}  // namespace pgvigil
