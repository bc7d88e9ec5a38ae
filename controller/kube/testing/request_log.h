// kube-fake's record of requests: one JSON line per API request it answered
// (an audit log of the double, not of Kubernetes), so a kube-lab scenario can
// prove from the server's side who changed what and with which outcome:
//
//   {"seq":12,"time":"2026-12-05T22:40:01.123Z","user":"system:serviceaccount:...",
//    "userAgent":"pgvigil-controller/0.1.0 (pgvigil-controller-0-1a2b3c4d)",
//    "method":"PUT","path":"/apis/.../status","query":"","code":409,"reason":"Conflict"}
//
// A watch is recorded when its stream starts ("watch":true, code 200); a
// control request of the harness (/compact, /down, ...) as {"seq","time","control"}
// so its place among the API requests is known. Thread-safe; each line is
// flushed as written.
#pragma once

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

#include "common/result.h"

namespace pgvigil::kube::fake {

struct RequestRecord {
  std::string user, userAgent, method, path, query;
  int code = 0;
  std::string reason;  // the Status reason of an error answer, else ""
  bool watch = false;
};

// One line of the log (no newline), pure.
std::string RequestLogLine(uint64_t seq, const std::string& time, const RequestRecord& r);
std::string ControlLogLine(uint64_t seq, const std::string& time, const std::string& control);

class RequestLog {
 public:
  RequestLog() = default;
  ~RequestLog();
  RequestLog(const RequestLog&) = delete;
  RequestLog& operator=(const RequestLog&) = delete;

  Status Open(const std::string& path);  // appends; an error names the file
  void Record(const RequestRecord& r);   // no-op until opened
  void Control(const std::string& what);

 private:
  void Write(const std::string& line);
  std::mutex mu_;
  FILE* file_ = nullptr;
  uint64_t seq_ = 0;
};

}  // namespace pgvigil::kube::fake
