#include "controller/kube/kube_lease.h"

#include <cstdio>
#include <ctime>

namespace pgvigil::kube {

using web::json::value;

std::string FormatMicroTime(std::chrono::system_clock::time_point t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  auto frac = us % 1000000;
  if (frac < 0) frac += 1000000;  // before 1970: the second below, not a negative fraction
  std::time_t secs = static_cast<std::time_t>((us - frac) / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<unsigned>(frac));
  return buf;
}

std::optional<std::chrono::system_clock::time_point> ParseMicroTime(const std::string& text) {
  std::tm tm{};
  int frac_digits = 0;
  long frac = 0;
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return std::nullopt;
  if (*rest == '.') {
    ++rest;
    while (*rest >= '0' && *rest <= '9' && frac_digits < 9) {
      frac = frac * 10 + (*rest++ - '0');
      ++frac_digits;
    }
  }
  if (std::string(rest) != "Z") return std::nullopt;
  while (frac_digits < 6) {
    frac *= 10;
    ++frac_digits;
  }
  while (frac_digits > 6) {
    frac /= 10;
    --frac_digits;
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm)) + std::chrono::microseconds(frac);
}

value Lease::ToJson() const {
  value v = value::object();
  v["apiVersion"] = value::string("coordination.k8s.io/v1");
  v["kind"] = value::string("Lease");
  value meta = value::object();
  meta["name"] = value::string(name);
  meta["namespace"] = value::string(ns);
  if (!resourceVersion.empty()) meta["resourceVersion"] = value::string(resourceVersion);
  if (!annotations.empty()) {
    value a = value::object();
    for (const auto& [k, val] : annotations) a[k] = value::string(val);
    meta["annotations"] = a;
  }
  v["metadata"] = meta;
  value spec = value::object();
  spec["holderIdentity"] = value::string(holderIdentity);
  spec["leaseDurationSeconds"] = value::number(leaseDurationSeconds);
  if (!acquireTime.empty()) spec["acquireTime"] = value::string(acquireTime);
  if (!renewTime.empty()) spec["renewTime"] = value::string(renewTime);
  spec["leaseTransitions"] = value::number(leaseTransitions);
  v["spec"] = spec;
  return v;
}

Lease Lease::FromJson(const value& v) {
  Lease l;
  auto str = [](const value& o, const char* k) { return o.has_string_field(k) ? o.at(k).as_string() : ""; };
  auto num = [](const value& o, const char* k) { return o.has_number_field(k) ? o.at(k).as_integer() : 0; };
  if (v.has_object_field("metadata")) {
    const value& m = v.at("metadata");
    l.name = str(m, "name");
    l.ns = str(m, "namespace");
    l.resourceVersion = str(m, "resourceVersion");
    if (m.has_object_field("annotations"))
      for (const auto& [k, val] : m.at("annotations").as_object())
        if (val.is_string()) l.annotations[k] = val.as_string();
  }
  if (v.has_object_field("spec")) {
    const value& s = v.at("spec");
    l.holderIdentity = str(s, "holderIdentity");
    l.leaseDurationSeconds = num(s, "leaseDurationSeconds");
    l.acquireTime = str(s, "acquireTime");
    l.renewTime = str(s, "renewTime");
    l.leaseTransitions = num(s, "leaseTransitions");
  }
  return l;
}

namespace {

std::string LeasePath(const std::string& ns, const std::string& name = "") {
  return ResourcePath("coordination.k8s.io", "v1", "leases", ns, name);
}

Result<LeaseReply> Wrap(Result<ApiReply> r) {
  if (!r.ok()) return r.status();
  LeaseReply out;
  out.reply = *r;
  if (r->ok()) out.lease = Lease::FromJson(r->body);
  return out;
}

}  // namespace

Result<LeaseReply> GetLease(KubeClient* c, const std::string& ns, const std::string& name) {
  return Wrap(c->Get(LeasePath(ns, name)));
}

Result<LeaseReply> CreateLease(KubeClient* c, const Lease& lease) {
  Lease fresh = lease;
  fresh.resourceVersion.clear();
  return Wrap(c->Create(LeasePath(lease.ns), fresh.ToJson()));
}

Result<LeaseReply> UpdateLease(KubeClient* c, const Lease& lease) {
  return Wrap(c->Replace(LeasePath(lease.ns, lease.name), lease.ToJson()));
}

Result<ApiReply> PostEvent(KubeClient* c, const EventRecord& e) {
  value v = value::object();
  v["apiVersion"] = value::string("events.k8s.io/v1");
  v["kind"] = value::string("Event");
  std::string about = e.regarding.has_string_field("name") ? e.regarding.at("name").as_string() : "object";
  v["metadata"] = value::object();
  v["metadata"]["generateName"] = value::string(about + ".");
  v["metadata"]["namespace"] = value::string(e.ns);
  v["regarding"] = e.regarding;
  v["type"] = value::string(e.type);
  v["reason"] = value::string(e.reason);
  v["action"] = value::string(e.action);
  std::string note = e.note;
  if (note.size() > 1024) {  // the API's limit; cut at a UTF-8 character boundary
    size_t cut = 1021;
    while (cut > 0 && (static_cast<unsigned char>(note[cut]) & 0xC0) == 0x80) --cut;
    note = note.substr(0, cut) + "...";
  }
  v["note"] = value::string(note);
  v["reportingController"] = value::string(e.reportingController);
  v["reportingInstance"] = value::string(e.reportingInstance);
  v["eventTime"] = value::string(FormatMicroTime(std::chrono::system_clock::now()));
  return c->Create(ResourcePath("events.k8s.io", "v1", "events", e.ns), v);
}

}  // namespace pgvigil::kube
