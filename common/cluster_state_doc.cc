#include "common/cluster_state_doc.h"

#include <cmath>
#include <tuple>

#include "common/json_fields.h"

namespace pgvigil {

using web::json::value;

namespace {

// The controller's field checks: a missing field keeps its default; anything
// but the field's type (null included) is an error naming the field. Numbers
// must be integers in the field's range: cpprest's to_uint64() and kin cast a
// double unchecked (undefined behaviour for 1e300; found by fuzzing).
class Strict {
 public:
  Strict(const value& o, std::string path) : o_(o), path_(std::move(path)) {}
  const std::string& error() const { return error_; }

  void U64(const char* k, uint64_t* out) {
    if (const value* f = Take(k)) {
      if (f->is_number() && f->as_number().is_uint64())
        *out = f->as_number().to_uint64();
      else
        Fail(k, "not an unsigned integer");
    }
  }
  void I64(const char* k, int64_t* out) {
    if (const value* f = Take(k)) {
      if (f->is_number() && f->as_number().is_int64())
        *out = f->as_number().to_int64();
      else
        Fail(k, "not an integer");
    }
  }
  void Str(const char* k, std::string* out) {
    if (const value* f = Take(k)) {
      if (f->is_string())
        *out = f->as_string();
      else
        Fail(k, "not a string");
    }
  }
  void Names(const char* k, std::vector<std::string>* out) {
    const value* f = Take(k);
    if (!f) return;
    if (!f->is_array()) return Fail(k, "not a list");
    for (size_t i = 0; i < f->as_array().size(); ++i) {
      const value& n = f->as_array().at(i);
      if (!n.is_string()) return Fail(k + ("[" + std::to_string(i) + "]"), "not a string");
      out->push_back(n.as_string());
    }
  }
  void Ints(const char* k, std::vector<int>* out) {
    const value* f = Take(k);
    if (!f) return;
    if (!f->is_array()) return Fail(k, "not a list");
    for (size_t i = 0; i < f->as_array().size(); ++i) {
      const value& n = f->as_array().at(i);
      if (!n.is_number() || !n.as_number().is_int32())
        return Fail(k + ("[" + std::to_string(i) + "]"), "not an integer");
      out->push_back(n.as_number().to_int32());
    }
  }
  const value* Take(const char* k) {
    if (!error_.empty() || !o_.has_field(k)) return nullptr;
    return &o_.at(k);
  }
  // "cluster state field 'tr.k' is not a transition kind (0..2)".
  void Fail(const std::string& field, const std::string& what) {
    if (error_.empty())
      error_ = "cluster state field '" + (path_.empty() ? field : path_ + "." + field) + "' is " + what;
  }

 private:
  const value& o_;
  const std::string path_;
  std::string error_;
};

void IntList(const JsonFieldReader& r, const char* key, std::vector<int>* out) {
  r.Each(key, [&](const value& item, const std::string& path) {
    if (item.is_number() && item.as_number().is_int32())
      out->push_back(item.as_number().to_int32());
    else if (r.notes())
      r.notes()->push_back(path + ": not an integer; left out");
  });
}

}  // namespace

value ToJson(const ClusterStateDoc& d) {
  value v = value::object();
  v["f"] = value::number(d.format);
  v["v"] = value::number(d.version);
  v["p"] = value::string(d.primary);
  v["tl"] = value::number(d.timeline);
  v["rg"] = value::number(d.routingGeneration);
  v["rp"] = value::string(d.routedPrimary);
  v["rs"] = json_fields::Strings(d.routedStandbys);
  if (!d.routedWeights.empty()) {
    value w = value::array(d.routedWeights.size());
    for (size_t i = 0; i < d.routedWeights.size(); ++i) w[i] = value::number(d.routedWeights[i]);
    v["rw"] = w;
  }
  v["ss"] = json_fields::Strings(d.synchronousStandbys);
  v["sc"] = value::number(d.synchronousCount);
  v["sl"] = value::number(d.syncShrinkLsn);
  v["fe"] = json_fields::Strings(d.fenced);
  v["de"] = json_fields::Strings(d.detached);
  v["bo"] = value::number(d.switchoverBackoffUntil);
  if (d.transition) {
    const ClusterStateTransitionDoc& t = *d.transition;
    value o = value::object();
    o["k"] = value::number(t.kind);
    o["fr"] = value::string(t.from);
    o["to"] = value::string(t.to);
    o["st"] = value::number(t.step);
    o["at"] = value::number(t.startedAt);
    o["sl"] = value::number(t.stopLsn);
    v["tr"] = o;
  }
  return v;
}

Result<ClusterStateDoc> ClusterStateDocFromJsonStrict(const value& v) {
  ClusterStateDoc d;
  if (v.is_null()) return d;
  if (!v.is_object()) return Result<ClusterStateDoc>::Error("cluster state is not an object");
  Strict s(v, "");
  int64_t format = 0;
  s.I64("f", &format);
  if (s.error().empty() && format != kClusterStateFormat)
    return Result<ClusterStateDoc>::Error("cluster state format " + std::to_string(format) +
                                          " is not the supported " + std::to_string(kClusterStateFormat));
  d.format = format;
  s.U64("v", &d.version);
  s.Str("p", &d.primary);
  s.U64("tl", &d.timeline);
  s.U64("rg", &d.routingGeneration);
  s.Str("rp", &d.routedPrimary);
  s.Names("rs", &d.routedStandbys);
  s.Ints("rw", &d.routedWeights);
  s.Names("ss", &d.synchronousStandbys);
  s.I64("sc", &d.synchronousCount);
  s.U64("sl", &d.syncShrinkLsn);
  s.Names("fe", &d.fenced);
  s.Names("de", &d.detached);
  s.I64("bo", &d.switchoverBackoffUntil);
  if (const value* tr = s.Take("tr")) {
    if (!tr->is_object()) {
      s.Fail("tr", "not an object");
    } else {
      ClusterStateTransitionDoc t;
      Strict ts(*tr, "tr");
      ts.I64("k", &t.kind);
      ts.Str("fr", &t.from);
      ts.Str("to", &t.to);
      ts.I64("st", &t.step);
      ts.I64("at", &t.startedAt);
      ts.U64("sl", &t.stopLsn);
      if (ts.error().empty() && (t.kind < 0 || t.kind > 2)) ts.Fail("k", "not a transition kind (0..2)");
      if (ts.error().empty() && (t.step < 0 || t.step > 3)) ts.Fail("st", "not a transition step (0..3)");
      if (!ts.error().empty()) return Result<ClusterStateDoc>::Error(ts.error());
      // No transition is no transition: what ToJson writes (found by fuzzing:
      // fields of a kind-0 transition were kept and lost on the next write).
      if (t.kind != 0) d.transition = t;
    }
  }
  if (!s.error().empty()) return Result<ClusterStateDoc>::Error(s.error());
  return d;
}

ClusterStateDoc ClusterStateDocFromJson(const value& v, std::vector<std::string>* notes) {
  JsonFieldReader r(v, "", notes);
  ClusterStateDoc d;
  d.format = 0;  // a document without "f" is of no known format
  r.I64("f", &d.format);
  r.U64("v", &d.version);
  r.Str("p", &d.primary);
  r.U64("tl", &d.timeline);
  r.U64("rg", &d.routingGeneration);
  r.Str("rp", &d.routedPrimary);
  r.StrList("rs", &d.routedStandbys);
  IntList(r, "rw", &d.routedWeights);
  r.StrList("ss", &d.synchronousStandbys);
  r.I64("sc", &d.synchronousCount);
  r.U64("sl", &d.syncShrinkLsn);
  r.StrList("fe", &d.fenced);
  r.StrList("de", &d.detached);
  r.I64("bo", &d.switchoverBackoffUntil);
  if (const value* tr = r.Get("tr")) {
    if (!tr->is_object()) {
      r.Note("tr", "not an object");
    } else {
      JsonFieldReader tr_reader(*tr, "tr", notes);
      ClusterStateTransitionDoc t;
      tr_reader.I64("k", &t.kind);
      tr_reader.Str("fr", &t.from);
      tr_reader.Str("to", &t.to);
      tr_reader.I64("st", &t.step);
      tr_reader.I64("at", &t.startedAt);
      tr_reader.U64("sl", &t.stopLsn);
      if (t.kind < 0 || t.kind > 2) {
        tr_reader.Note("k", "not a transition kind (0..2)");
        t.kind = 0;
      }
      if (t.step < 0 || t.step > 3) {
        tr_reader.Note("st", "not a transition step (0..3)");
        t.step = 0;
      }
      if (t.kind != 0) d.transition = t;
    }
  }
  return d;
}

bool operator==(const ClusterStateTransitionDoc& a, const ClusterStateTransitionDoc& b) {
  return std::tie(a.kind, a.from, a.to, a.step, a.startedAt, a.stopLsn) ==
         std::tie(b.kind, b.from, b.to, b.step, b.startedAt, b.stopLsn);
}

bool operator==(const ClusterStateDoc& a, const ClusterStateDoc& b) {
  return std::tie(a.format, a.version, a.primary, a.timeline, a.routingGeneration, a.routedPrimary,
                  a.routedStandbys, a.routedWeights, a.synchronousStandbys, a.synchronousCount, a.syncShrinkLsn,
                  a.fenced, a.detached, a.switchoverBackoffUntil, a.transition) ==
         std::tie(b.format, b.version, b.primary, b.timeline, b.routingGeneration, b.routedPrimary,
                  b.routedStandbys, b.routedWeights, b.synchronousStandbys, b.synchronousCount, b.syncShrinkLsn,
                  b.fenced, b.detached, b.switchoverBackoffUntil, b.transition);
}

}  // namespace pgvigil
