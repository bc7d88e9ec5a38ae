#include "e2e/tools/e2e_logic.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <sstream>

namespace pgvigil::e2e {

void GapTracker::Ack(int64_t wallMs) {
  if (!first_) first_ = wallMs;
  if (last_) {
    Gap g{*last_, wallMs};
    if (g.lengthMs() > threshold_) gaps_.push_back(g);
    if (!longest_ || g.lengthMs() > longest_->lengthMs()) longest_ = g;
  }
  last_ = wallMs;
}

bool ParseAckLine(const std::string& line, AckRecord* out) {
  std::istringstream in(line);
  AckRecord r;
  if (!(in >> r.id)) return false;
  if (in >> r.sentMs) {
    if (!(in >> r.ackMs)) return false;
  } else {
    r.sentMs = r.ackMs = 0;
  }
  std::string rest;
  if (in >> rest) return false;
  *out = r;
  return true;
}

LossReport ComputeLoss(const std::vector<AckRecord>& acks, const std::set<int64_t>& present) {
  LossReport r;
  std::set<int64_t> ackedIds;
  for (const AckRecord& a : acks) {
    ackedIds.insert(a.id);
    if (present.count(a.id)) continue;
    ++r.lost;
    if (!r.lostRanges.empty() && r.lostRanges.back().last + 1 == a.id) {
      r.lostRanges.back().last = a.id;
      r.lostRanges.back().lastAckMs = a.ackMs;
    } else {
      r.lostRanges.push_back(IdRange{a.id, a.id, a.ackMs, a.ackMs});
    }
  }
  r.acked = static_cast<int64_t>(ackedIds.size());
  for (int64_t id : present)
    if (!ackedIds.count(id)) ++r.unackedPresent;
  return r;
}

std::optional<AckRecord> FirstAckAfter(const std::vector<AckRecord>& acks, int64_t momentMs) {
  std::optional<AckRecord> best;
  for (const AckRecord& a : acks)
    if (a.ackMs >= momentMs && (!best || a.ackMs < best->ackMs)) best = a;
  return best;
}

bool ParseNodeArg(const std::string& arg, NodeAddr* out, std::string* err) {
  auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) {
    *err = "expected NAME=HOST:PGPORT[:RESTPORT], got '" + arg + "'";
    return false;
  }
  NodeAddr n;
  n.name = arg.substr(0, eq);
  std::vector<std::string> parts;
  std::string rest = arg.substr(eq + 1), cur;
  std::istringstream in(rest);
  while (std::getline(in, cur, ':')) parts.push_back(cur);
  if (parts.empty() || parts.size() > 3 || parts[0].empty()) {
    *err = "expected NAME=HOST:PGPORT[:RESTPORT], got '" + arg + "'";
    return false;
  }
  n.host = parts[0];
  auto port = [&](const std::string& s, int* p) {
    if (s.empty() || s.size() > 5 || !std::all_of(s.begin(), s.end(), ::isdigit)) return false;
    *p = std::stoi(s);
    return *p > 0 && *p < 65536;
  };
  if (parts.size() >= 2 && !port(parts[1], &n.pgPort)) {
    *err = "bad PostgreSQL port in '" + arg + "'";
    return false;
  }
  if (parts.size() == 3 && !port(parts[2], &n.restPort)) {
    *err = "bad REST port in '" + arg + "'";
    return false;
  }
  *out = n;
  return true;
}

std::vector<std::string> WritableNodes(const Snapshot& s) {
  std::vector<std::string> out;
  for (const NodeView& n : s.nodes)
    if (n.writable == Tri::kYes) out.push_back(n.name);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> RoutedWritablePrimaries(const Snapshot& s) {
  std::set<std::string> named;
  for (const NodeView& n : s.nodes)
    if (n.proxyReachable && !n.routedPrimary.empty()) named.insert(n.routedPrimary);
  std::vector<std::string> out;
  for (const NodeView& n : s.nodes)
    if (n.writable == Tri::kYes && named.count(n.name)) out.push_back(n.name);
  std::sort(out.begin(), out.end());
  if (out.size() < 2) out.clear();
  return out;
}

namespace {
int64_t ObsIdOf(const Snapshot& s, const std::string& name) {
  for (const NodeView& n : s.nodes)
    if (n.name == name) return n.pgObsId;
  return -1;
}
}  // namespace

bool SplitBrainDetector::Feed(const Snapshot& s) {
  std::vector<std::string> hit = RoutedWritablePrimaries(s);
  if (hit.empty()) {
    Finish();
    return false;
  }
  if (open_ && open_->nodes != hit) Finish();
  if (!open_) {
    open_ = Episode{hit, s.atMs, s.atMs, 1, false};
    lastObsIds_.clear();
    for (const std::string& n : hit) lastObsIds_.push_back(ObsIdOf(s, n));
    return true;
  }
  open_->lastMs = s.atMs;
  ++open_->samples;
  bool allNew = true;
  for (size_t i = 0; i < hit.size(); ++i)
    if (ObsIdOf(s, hit[i]) <= lastObsIds_[i]) allNew = false;
  if (allNew) open_->confirmed = true;
  return true;
}

void SplitBrainDetector::Finish() {
  if (open_) episodes_.push_back(*open_);
  open_.reset();
  lastObsIds_.clear();
}

int SplitBrainDetector::confirmedCount() const {
  int c = 0;
  for (const Episode& e : episodes_) c += e.confirmed ? 1 : 0;
  return c;
}

bool VipDetector::Feed(int64_t atMs, const std::vector<std::string>& holdersIn) {
  ++samples_;
  std::vector<std::string> holders = holdersIn;
  std::sort(holders.begin(), holders.end());
  holders.erase(std::unique(holders.begin(), holders.end()), holders.end());
  if (holders.size() < 2) {
    Finish();
    return false;
  }
  if (open_ && open_->nodes != holders) Finish();
  if (!open_) {
    open_ = Episode{holders, atMs, atMs, 1, true};
  } else {
    open_->lastMs = atMs;
    ++open_->samples;
  }
  return true;
}

void VipDetector::Finish() {
  if (open_) episodes_.push_back(*open_);
  open_.reset();
}

std::string FormatMs(int64_t wallMs) {
  std::time_t secs = static_cast<std::time_t>(wallMs / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(wallMs % 1000));
  return buf;
}

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

}  // namespace pgvigil::e2e
