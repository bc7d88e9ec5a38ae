#include "common/logging.h"

#include <syslog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>

namespace pgvigil {

namespace {

void AppendJsonString(std::string* out, const char* data, size_t n) {
  out->push_back('"');
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(data[i]);
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

// One JSON object per line on stderr: {"time":..,"level":..,"program":..,"msg":..}.
class JsonStderrSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit JsonStderrSink(std::string ident) : ident_(std::move(ident)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    auto t = std::chrono::system_clock::to_time_t(msg.time);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()) % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char ts[64];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms.count()));
    std::string line = "{\"time\":\"";
    line += ts;
    line += "\",\"level\":\"";
    auto level = spdlog::level::to_string_view(msg.level);
    line.append(level.data(), level.size());
    line += "\",\"program\":";
    AppendJsonString(&line, ident_.data(), ident_.size());
    line += ",\"msg\":";
    AppendJsonString(&line, msg.payload.data(), msg.payload.size());
    line += "}\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }

 private:
  std::string ident_;
};

Result<int> SyslogFacility(const std::string& name) {
  static const std::map<std::string, int> kFacilities = {
      {"LOCAL0", LOG_LOCAL0}, {"LOCAL1", LOG_LOCAL1}, {"LOCAL2", LOG_LOCAL2},
      {"LOCAL3", LOG_LOCAL3}, {"LOCAL4", LOG_LOCAL4}, {"LOCAL5", LOG_LOCAL5},
      {"LOCAL6", LOG_LOCAL6}, {"LOCAL7", LOG_LOCAL7}, {"DAEMON", LOG_DAEMON},
      {"USER", LOG_USER}};
  auto it = kFacilities.find(name);
  if (it == kFacilities.end())
    return Result<int>::Error("unknown syslog facility '" + name + "' (LOCAL0..LOCAL7, DAEMON, USER)");
  return it->second;
}

}  // namespace

Result<LogFormat> ParseLogFormat(const std::string& text) {
  if (text == "text") return LogFormat::kText;
  if (text == "json") return LogFormat::kJson;
  if (text == "syslog") return LogFormat::kSyslog;
  return Result<LogFormat>::Error("unknown log format '" + text + "' (text, json or syslog)");
}

Status InitLogging(const LogOptions& options) {
  auto level = spdlog::level::from_str(options.level);
  if (level == spdlog::level::off && options.level != "off")
    return Status::Error("unknown log level '" + options.level + "'");
  std::shared_ptr<spdlog::logger> logger;
  switch (options.format) {
    case LogFormat::kText: {
      auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
      logger = std::make_shared<spdlog::logger>(options.ident, sink);
      logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %n[%t]: %v");
      break;
    }
    case LogFormat::kJson:
      logger = std::make_shared<spdlog::logger>(options.ident,
                                                std::make_shared<JsonStderrSink>(options.ident));
      break;
    case LogFormat::kSyslog: {
      auto facility = SyslogFacility(options.syslogFacility);
      if (!facility.ok()) return facility.status();
      auto sink = std::make_shared<spdlog::sinks::syslog_sink_mt>(options.ident, LOG_PID, *facility,
                                                                 false);
      logger = std::make_shared<spdlog::logger>(options.ident, sink);
      logger->set_pattern("%v");
      break;
    }
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return Status::Ok();
}

std::string LogEscape(std::string_view s, size_t max_bytes) {
  std::string out;
  size_t n = std::min(s.size(), max_bytes);
  out.reserve(n + 16);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out.append(buf);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  if (s.size() > max_bytes) out += "...(" + std::to_string(s.size()) + " bytes)";
  return out;
}

}  // namespace pgvigil
