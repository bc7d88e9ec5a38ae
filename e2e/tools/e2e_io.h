// I/O helpers of the e2e tools with hard deadlines: libpq connect/query without
// blocking past a timeout (so a host that was cut off never stalls a tool), and a
// minimal HTTP/1.0 GET.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <string>
#include <vector>

namespace pgvigil::e2e {

int64_t NowWallMs();
int64_t NowMonoMs();

// Nonblocking connect; nullptr (and *err) on failure or when timeoutMs passes.
PGconn* ConnectWithDeadline(const std::string& conninfo, int timeoutMs, std::string* err);

// Runs one statement; rows of text values in *rows (may be null). False (and *err) on
// an error, a lost connection or the deadline. After false the connection is unusable
// (the caller should PQfinish it).
bool QueryWithDeadline(PGconn* conn, const std::string& sql, int timeoutMs,
                       std::vector<std::vector<std::string>>* rows, std::string* err);

// GET http://host:port/path; the status code and body. False (and *err) on failure.
bool HttpGet(const std::string& host, int port, const std::string& path, int timeoutMs,
             int* status, std::string* body, std::string* err);

}  // namespace pgvigil::e2e
