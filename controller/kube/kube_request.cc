#include "controller/kube/kube_request.h"

#include <algorithm>
#include <cctype>

#include "common/strings.h"
#include "controller/kube/kube_plan.h"

namespace pgvigil::kube {

using web::json::value;

namespace {

bool In(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

std::string Field(const value& o, const char* k) { return o.has_string_field(k) ? o.at(k).as_string() : ""; }

}  // namespace

std::string EncodeRequest(const OperatorRequest& r) {
  value v = value::object(true);  // keep the order: id first
  v["id"] = value::string(r.id);
  v["action"] = value::string(r.action);
  v["instance"] = value::string(r.instance);
  if (!r.requestedAt.empty()) v["requestedAt"] = value::string(r.requestedAt);
  return v.serialize();
}

RequestDecision DecideRequest(const std::string& annotation, const std::string& handled_id,
                              const std::vector<std::string>& instances) {
  RequestDecision d;
  if (annotation.find_first_not_of(" \t\r\n") == std::string::npos) return d;
  const std::string where = std::string("annotation ") + kRequestAnnotation;
  value v;
  try {
    v = value::parse(annotation);
  } catch (const std::exception& e) {
    v = value::null();
  }
  if (!v.is_object() || !v.has_string_field("id") || Field(v, "id").empty()) {
    d.kind = RequestDecision::Kind::kRefuse;
    d.reason = where + ": not a JSON object with an \"id\" (vigilctl writes it: " +
               "vigilctl switchover|recover ...)";
    return d;
  }
  d.request.id = Field(v, "id");
  d.request.action = Field(v, "action");
  d.request.instance = Field(v, "instance");
  d.request.requestedAt = Field(v, "requestedAt");
  if (d.request.id == handled_id) {
    d.reason = "request " + d.request.id + " was handled already";
    return d;
  }
  d.kind = RequestDecision::Kind::kRefuse;
  if (d.request.action != "switchover" && d.request.action != "recover") {
    d.reason = where + ": unknown action '" + d.request.action + "' (switchover, recover)";
    return d;
  }
  if (!In(instances, d.request.instance)) {
    d.reason = where + ": '" + d.request.instance + "' is not an instance of this cluster (" + Join(instances) + ")";
    return d;
  }
  d.kind = RequestDecision::Kind::kFile;
  d.reason = d.request.action + " " + d.request.instance + " requested (" + kRequestAnnotation + " id " +
             d.request.id + ")";
  return d;
}

value RequestRecord(const OperatorRequest& r, bool accepted, const std::string& message, uint64_t term,
                    const std::string& time) {
  value v = value::object(true);
  v["id"] = value::string(r.id);
  v["action"] = value::string(r.action);
  v["instance"] = value::string(r.instance);
  v["result"] = value::string(accepted ? "Accepted" : "Refused");
  v["message"] = value::string(message);
  v["term"] = value::number(static_cast<uint64_t>(term));
  v["time"] = value::string(time);
  return v;
}

HandOffDecision DecideHandOff(const std::string& filed_id, uint64_t filed_term, const value& recorded,
                              uint64_t acting_term) {
  HandOffDecision d;
  const std::string id = recorded.is_object() ? Field(recorded, "id") : "";
  const std::string holds = "status.lastRequest holds " + (id.empty() ? std::string("no request") : "request " + id);
  if (id != filed_id) {
    if (acting_term != 0 && acting_term != filed_term) {
      d.kind = HandOffDecision::Kind::kDrop;
      d.reason = holds + " and this controller acts under term " + std::to_string(acting_term) + " now, not term " +
                 std::to_string(filed_term) + " under which it filed it (its record never read back); ask again";
      return d;
    }
    d.reason = holds + ", not yet request " + filed_id;
    return d;
  }
  const bool has_term = recorded.has_number_field("term") && recorded.at("term").as_number().is_integral();
  const uint64_t term = has_term ? recorded.at("term").as_number().to_uint64() : 0;
  d.kind = HandOffDecision::Kind::kDrop;
  d.recordHeld = has_term && term == filed_term;
  if (!d.recordHeld) {
    d.reason = "status.lastRequest holds it under " + (has_term ? "term " + std::to_string(term) : "no term") +
               ", not term " + std::to_string(filed_term) +
               " under which this controller filed it: another controller recorded it and carries it out";
    return d;
  }
  if (acting_term == 0) {
    d.reason = "this controller stopped acting (it filed it under term " + std::to_string(filed_term) +
               ") before handing it to the planner; ask again";
    return d;
  }
  if (acting_term != filed_term) {
    d.reason = "this controller acts under term " + std::to_string(acting_term) + " now, not term " +
               std::to_string(filed_term) + " under which it filed it: another controller may have run it in "
               "between; ask again";
    return d;
  }
  d.kind = HandOffDecision::Kind::kHandOff;
  d.reason = "status.lastRequest holds it under term " + std::to_string(term) + ", the term this controller acts under";
  return d;
}

Result<std::string> FenceAnnotationAfter(const std::string& current, bool fence, const std::string& instance,
                                         const std::vector<std::string>& instances, bool* changed) {
  *changed = false;
  auto parsed = ParseFencedInstances(current, instances);
  if (!parsed.ok())
    return Result<std::string>::Error(parsed.error() + "; fix or remove the annotation by hand first");
  ManualFence f = *parsed;
  if (instance != "*" && !In(instances, instance))
    return Result<std::string>::Error("'" + instance + "' is not an instance of this cluster (" + Join(instances) +
                                      ")");
  if (fence) {
    if (f.all || In(f.names, instance)) return current;
    if (instance == "*") {
      f.all = true;
      f.names.clear();
    } else {
      f.names.push_back(instance);
      std::sort(f.names.begin(), f.names.end());
    }
  } else {
    if (instance == "*") {
      if (!f.all && f.names.empty()) return current;
      f = ManualFence{};
    } else if (f.all) {
      return Result<std::string>::Error(
          "every instance is fenced (" + std::string(kFencedInstancesAnnotation) + " is [\"*\"]): unfence '*' " +
          "first, then fence the others one by one");
    } else if (!In(f.names, instance)) {
      return current;
    } else {
      f.names.erase(std::find(f.names.begin(), f.names.end(), instance));
    }
  }
  *changed = true;
  if (!f.all && f.names.empty()) return std::string();
  value list = value::array();
  if (f.all) list[0] = value::string("*");
  for (size_t i = 0; i < f.names.size(); ++i) list[i] = value::string(f.names[i]);
  return list.serialize();
}

std::string ClusterOfInstance(const std::string& instance) {
  const auto dash = instance.rfind('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == instance.size()) return "";
  for (size_t i = dash + 1; i < instance.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(instance[i]))) return "";
  return instance.substr(0, dash);
}

std::vector<std::string> InstanceNames(const std::string& cluster, int instances) {
  std::vector<std::string> out;
  for (int i = 0; i < instances; ++i) out.push_back(cluster + "-" + std::to_string(i));
  return out;
}

}  // namespace pgvigil::kube
