// kube-fake's record of requests (request_log.h).
#include "controller/kube/testing/request_log.h"

#include <chrono>
#include <ctime>

#include <cpprest/json.h>

namespace pgvigil::kube::fake {
namespace {

using web::json::value;

// Wall-clock time with milliseconds, UTC: "2026-12-05T22:40:01.123Z".
std::string NowMillis() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

std::string RequestLogLine(uint64_t seq, const std::string& time, const RequestRecord& r) {
  value v = value::object(true);  // keep the field order readable
  v["seq"] = value::number(seq);
  v["time"] = value::string(time);
  v["user"] = value::string(r.user);
  v["userAgent"] = value::string(r.userAgent);
  v["method"] = value::string(r.method);
  v["path"] = value::string(r.path);
  v["query"] = value::string(r.query);
  v["code"] = value::number(r.code);
  v["reason"] = value::string(r.reason);
  if (r.watch) v["watch"] = value::boolean(true);
  return v.serialize();
}

std::string ControlLogLine(uint64_t seq, const std::string& time, const std::string& control) {
  value v = value::object(true);
  v["seq"] = value::number(seq);
  v["time"] = value::string(time);
  v["control"] = value::string(control);
  return v.serialize();
}

RequestLog::~RequestLog() {
  if (file_) std::fclose(file_);
}

Status RequestLog::Open(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  FILE* f = std::fopen(path.c_str(), "a");
  if (!f) return Status::Error("cannot open the request log " + path);
  if (file_) std::fclose(file_);
  file_ = f;
  return Status::Ok();
}

void RequestLog::Record(const RequestRecord& r) {
  std::lock_guard<std::mutex> lock(mu_);
  if (file_) Write(RequestLogLine(++seq_, NowMillis(), r));
}

void RequestLog::Control(const std::string& what) {
  std::lock_guard<std::mutex> lock(mu_);
  if (file_) Write(ControlLogLine(++seq_, NowMillis(), what));
}

void RequestLog::Write(const std::string& line) {
  std::fputs(line.c_str(), file_);
  std::fputc('\n', file_);
  std::fflush(file_);
}

}  // namespace pgvigil::kube::fake
