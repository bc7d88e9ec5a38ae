// pgvigil-e2e-writer: inserts numbered rows through a conninfo (the VIP's proxy) in
// a loop, one autocommit INSERT per row, and appends every acknowledged id to a file
// ("ID SENT_MS ACK_MS", flushed per line; --fsync also fsyncs). Reconnects on any
// error; an INSERT whose outcome is unknown is not acknowledged and its id is never
// reused. Runs until SIGTERM/SIGINT (or --duration), then prints counts, the longest
// gap between acknowledged writes and every gap over --gap-threshold-ms.
//
//   pgvigil-e2e-writer --conninfo STR --acks FILE [--table e2e_writes] [--start-id N]
//       [--interval-ms 10] [--op-timeout-ms 5000] [--connect-timeout-ms 1500]
//       [--gaps FILE|-] [--gap-threshold-ms 200] [--marks FILE] [--duration S] [--quiet]
//     SIGUSR1 sets a mark (e.g. just before a failover is provoked): the first write
//     acknowledged after an outage that follows it (an error, or a gap over
//     --gap-threshold-ms) is reported on stdout and in --marks FILE as
//     "MARK_MS FIRST_ACK_MS DELAY_MS".
//   pgvigil-e2e-writer --verify --conninfo STR --acks FILE [--table e2e_writes]
//     every acknowledged id must exist: prints the loss (ranges with ack times);
//     exit 0 none lost, 3 some lost, 1 on error.
//   pgvigil-e2e-writer --first-ack-after MS --acks FILE
//     prints "ID SENT_MS ACK_MS DELAY_MS" of the first ack at/after MS (ms since epoch).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>

#include "e2e/tools/e2e_io.h"
#include "e2e/tools/e2e_logic.h"

using namespace pgvigil::e2e;

namespace {
volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_mark = 0;
void OnStop(int) { g_stop = 1; }
void OnMark(int) { g_mark = 1; }

void Usage() {
  std::cerr << "usage: pgvigil-e2e-writer --conninfo STR --acks FILE [--table T] [--start-id N]\n"
               "         [--interval-ms 10] [--op-timeout-ms 5000] [--connect-timeout-ms 1500]\n"
               "         [--gaps FILE|-] [--gap-threshold-ms 200] [--marks FILE] [--duration S]\n"
               "         [--fsync] [--quiet]\n"
               "       pgvigil-e2e-writer --verify --conninfo STR --acks FILE [--table T]\n"
               "       pgvigil-e2e-writer --first-ack-after MS --acks FILE\n";
}

bool ValidIdent(const std::string& s) {
  if (s.empty() || s.size() > 60) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return !std::isdigit(static_cast<unsigned char>(s[0]));
}

bool ReadAcks(const std::string& path, std::vector<AckRecord>* acks) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "writer: cannot read " << path << "\n";
    return false;
  }
  std::string line;
  int lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    if (line.empty()) continue;
    AckRecord r;
    if (!ParseAckLine(line, &r)) {
      // A torn last line (killed mid-write) is not an acknowledgement we promised.
      std::cerr << "writer: " << path << ":" << lineNo << ": ignoring malformed line\n";
      continue;
    }
    acks->push_back(r);
  }
  return true;
}

int Verify(const std::string& conninfo, const std::string& acksPath, const std::string& table) {
  std::vector<AckRecord> acks;
  if (!ReadAcks(acksPath, &acks)) return 1;
  std::string err;
  PGconn* c = nullptr;
  for (int i = 0; i < 10 && !c; ++i) {
    c = ConnectWithDeadline(conninfo, 3000, &err);
    if (!c) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (!c) {
    std::cerr << "writer --verify: cannot connect: " << err << "\n";
    return 1;
  }
  std::vector<std::vector<std::string>> rows;
  bool ok = QueryWithDeadline(c, "SELECT id FROM " + table, 30000, &rows, &err);
  PQfinish(c);
  if (!ok) {
    std::cerr << "writer --verify: " << err << "\n";
    return 1;
  }
  std::set<int64_t> present;
  for (auto& r : rows) present.insert(std::stoll(r[0]));
  LossReport rep = ComputeLoss(acks, present);
  std::cout << "verify: acknowledged " << rep.acked << ", rows present " << present.size()
            << ", lost " << rep.lost << ", present but never acknowledged " << rep.unackedPresent
            << "\n";
  for (const IdRange& r : rep.lostRanges)
    std::cout << "verify: LOST ids " << r.first << "-" << r.last << " (" << (r.last - r.first + 1)
              << " rows) acknowledged " << FormatMs(r.firstAckMs) << " .. " << FormatMs(r.lastAckMs)
              << "\n";
  if (!rep.lostRanges.empty())
    std::cout << "verify: loss window " << FormatMs(rep.lostRanges.front().firstAckMs) << " .. "
              << FormatMs(rep.lostRanges.back().lastAckMs) << " ("
              << (rep.lostRanges.back().lastAckMs - rep.lostRanges.front().firstAckMs) << " ms)\n";
  return rep.lost == 0 ? 0 : 3;
}
}  // namespace

int main(int argc, char** argv) {
  std::string conninfo, acksPath, table = "e2e_writes", gapsPath, marksPath;
  int64_t startId = 1, firstAfter = -1;
  int intervalMs = 10, opTimeoutMs = 5000, connectTimeoutMs = 1500, gapThresholdMs = 200;
  double durationS = 0;
  bool verify = false, doFsync = false, quiet = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "writer: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (a == "--conninfo") conninfo = next();
      else if (a == "--acks") acksPath = next();
      else if (a == "--table") table = next();
      else if (a == "--start-id") startId = std::stoll(next());
      else if (a == "--interval-ms") intervalMs = std::stoi(next());
      else if (a == "--op-timeout-ms") opTimeoutMs = std::stoi(next());
      else if (a == "--connect-timeout-ms") connectTimeoutMs = std::stoi(next());
      else if (a == "--gaps") gapsPath = next();
      else if (a == "--gap-threshold-ms") gapThresholdMs = std::stoi(next());
      else if (a == "--marks") marksPath = next();
      else if (a == "--duration") durationS = std::stod(next());
      else if (a == "--first-ack-after") firstAfter = std::stoll(next());
      else if (a == "--verify") verify = true;
      else if (a == "--fsync") doFsync = true;
      else if (a == "--quiet") quiet = true;
      else if (a == "-h" || a == "--help") { Usage(); return 0; }
      else { std::cerr << "writer: unknown option " << a << "\n"; Usage(); return 2; }
    } catch (const std::exception&) {
      std::cerr << "writer: bad value for " << a << "\n";
      return 2;
    }
  }
  if (!ValidIdent(table)) {
    std::cerr << "writer: --table must be a plain identifier\n";
    return 2;
  }
  if (firstAfter >= 0) {
    if (acksPath.empty()) { Usage(); return 2; }
    std::vector<AckRecord> acks;
    if (!ReadAcks(acksPath, &acks)) return 1;
    auto a = FirstAckAfter(acks, firstAfter);
    if (!a) { std::cout << "none\n"; return 1; }
    std::cout << a->id << " " << a->sentMs << " " << a->ackMs << " " << (a->ackMs - firstAfter) << "\n";
    return 0;
  }
  if (conninfo.empty() || acksPath.empty()) { Usage(); return 2; }
  if (verify) return Verify(conninfo, acksPath, table);

  struct sigaction sa{};
  sa.sa_handler = OnStop;  // no SA_RESTART: poll() returns at once
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sa.sa_handler = OnMark;
  sigaction(SIGUSR1, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  FILE* acks = std::fopen(acksPath.c_str(), "a");
  if (!acks) { std::perror(acksPath.c_str()); return 1; }
  FILE* marks = nullptr;
  if (!marksPath.empty() && !(marks = std::fopen(marksPath.c_str(), "a"))) {
    std::perror(marksPath.c_str());
    return 1;
  }

  GapTracker gaps(gapThresholdMs);
  int64_t acked = 0, errors = 0, attempts = 0, connects = 0, connectFailures = 0;
  int64_t id = startId;
  int64_t startMono = NowMonoMs();
  int64_t pendingMark = -1;
  int64_t lastAckMs = -1;
  bool errorSinceAck = false;
  std::string lastErr;
  int64_t lastErrPrintMs = 0, suppressed = 0;
  auto noteError = [&](const std::string& what, const std::string& e) {
    ++errors;
    errorSinceAck = true;
    std::string msg = what + ": ";
    for (char ch : e) {
      if (ch == '\n') msg += " / ";
      else if (ch != '\t') msg += ch;
    }
    std::string key = msg.substr(0, msg.find(" (id "));
    int64_t now = NowWallMs();
    if (quiet) return;
    if (key != lastErr || now - lastErrPrintMs >= 1000) {
      std::cerr << FormatMs(now) << " writer: " << msg;
      if (suppressed) std::cerr << " (+" << suppressed << " similar)";
      std::cerr << "\n";
      lastErr = key;
      lastErrPrintMs = now;
      suppressed = 0;
    } else {
      ++suppressed;
    }
  };

  // Create the table (retrying until it works or we are stopped).
  PGconn* conn = nullptr;
  bool haveTable = false;
  while (!g_stop && !haveTable) {
    std::string err;
    if (!conn) {
      conn = ConnectWithDeadline(conninfo, connectTimeoutMs, &err);
      ++connects;
      if (!conn) { ++connectFailures; noteError("connect", err); usleep(200000); continue; }
    }
    if (QueryWithDeadline(conn, "CREATE TABLE IF NOT EXISTS " + table +
                          " (id bigint PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT clock_timestamp())",
                          opTimeoutMs, nullptr, &err)) {
      haveTable = true;
    } else {
      noteError("create table", err);
      PQfinish(conn);
      conn = nullptr;
      usleep(200000);
    }
  }

  while (!g_stop) {
    if (durationS > 0 && NowMonoMs() - startMono >= static_cast<int64_t>(durationS * 1000)) break;
    if (g_mark) {
      g_mark = 0;
      pendingMark = NowWallMs();
      if (!quiet) std::cerr << FormatMs(pendingMark) << " writer: mark\n";
    }
    std::string err;
    if (!conn) {
      conn = ConnectWithDeadline(conninfo, connectTimeoutMs, &err);
      ++connects;
      if (!conn) {
        ++connectFailures;
        noteError("connect", err);
        usleep(50000);  // no hot loop against a refusing address
        continue;
      }
    }
    int64_t sent = NowWallMs();
    ++attempts;
    std::string sql = "INSERT INTO " + table + " (id) VALUES (" + std::to_string(id) + ")";
    bool ok = QueryWithDeadline(conn, sql, opTimeoutMs, nullptr, &err);
    int64_t thisId = id++;
    if (!ok) {
      noteError("insert", err + " (id " + std::to_string(thisId) + ")");
      PQfinish(conn);  // any error: a fresh connection (the proxy may route it anew)
      conn = nullptr;
      usleep(10000);
      continue;
    }
    int64_t ackMs = NowWallMs();
    std::fprintf(acks, "%lld %lld %lld\n", static_cast<long long>(thisId),
                 static_cast<long long>(sent), static_cast<long long>(ackMs));
    std::fflush(acks);
    if (doFsync) fdatasync(fileno(acks));
    ++acked;
    gaps.Ack(ackMs);
    bool afterOutage = errorSinceAck || (lastAckMs >= 0 && ackMs - lastAckMs > gapThresholdMs);
    errorSinceAck = false;
    lastAckMs = ackMs;
    if (pendingMark >= 0 && afterOutage) {
      std::printf("mark %s: first ack %s after %lld ms (id %lld)\n", FormatMs(pendingMark).c_str(),
                  FormatMs(ackMs).c_str(), static_cast<long long>(ackMs - pendingMark),
                  static_cast<long long>(thisId));
      std::fflush(stdout);
      if (marks) {
        std::fprintf(marks, "%lld %lld %lld\n", static_cast<long long>(pendingMark),
                     static_cast<long long>(ackMs), static_cast<long long>(ackMs - pendingMark));
        std::fflush(marks);
      }
      pendingMark = -1;
    }
    if (intervalMs > 0) usleep(static_cast<useconds_t>(intervalMs) * 1000);
  }
  if (conn) PQfinish(conn);
  std::fclose(acks);
  if (marks) std::fclose(marks);

  std::printf("writer: acked %lld, errors %lld, attempts %lld, connects %lld (%lld failed), next id %lld\n",
              static_cast<long long>(acked), static_cast<long long>(errors),
              static_cast<long long>(attempts), static_cast<long long>(connects),
              static_cast<long long>(connectFailures), static_cast<long long>(id));
  if (auto f = gaps.firstAckMs())
    std::printf("writer: first ack %s, last ack %s\n", FormatMs(*f).c_str(),
                FormatMs(*gaps.lastAckMs()).c_str());
  if (auto g = gaps.longest())
    std::printf("writer: longest gap %lld ms (%s .. %s)\n", static_cast<long long>(g->lengthMs()),
                FormatMs(g->startMs).c_str(), FormatMs(g->endMs).c_str());
  else
    std::printf("writer: longest gap n/a\n");
  std::printf("writer: %zu gaps > %d ms\n", gaps.gaps().size(), gapThresholdMs);
  if (!gapsPath.empty()) {
    FILE* out = gapsPath == "-" ? stdout : std::fopen(gapsPath.c_str(), "w");
    if (!out) {
      std::perror(gapsPath.c_str());
    } else {
      for (const Gap& g : gaps.gaps())
        std::fprintf(out, "gap %lld ms %s .. %s (%lld %lld)\n", static_cast<long long>(g.lengthMs()),
                     FormatMs(g.startMs).c_str(), FormatMs(g.endMs).c_str(),
                     static_cast<long long>(g.startMs), static_cast<long long>(g.endMs));
      if (out != stdout) std::fclose(out);
    }
  }
  return 0;
}
