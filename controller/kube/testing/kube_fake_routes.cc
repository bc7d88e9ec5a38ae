// kube-fake request handling: faults, who is calling, which resource, RBAC,
// then the object store. Discovery answers only what a client checks (the
// group/version's resource list, /version).
#include <thread>

#include "controller/kube/testing/kube_fake_http.h"

namespace pgvigil::kube::fake {

using web::json::value;

namespace {

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::string> Segments(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string seg = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (!seg.empty()) out.push_back(Decode(seg));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

value ResourceList(const ObjectStore& store, const std::string& group, const std::string& version) {
  value list = value::object();
  list["kind"] = value::string("APIResourceList");
  list["apiVersion"] = value::string("v1");
  list["groupVersion"] = value::string(group.empty() ? version : group + "/" + version);
  std::vector<value> resources;
  for (const auto& t : store.Types()) {
    if (t.group != group || t.version != version) continue;
    value r = value::object();
    r["name"] = value::string(t.plural);
    r["namespaced"] = value::boolean(t.namespaced);
    r["kind"] = value::string(t.kind);
    resources.push_back(r);
    if (t.statusSubresource) {
      value s = r;
      s["name"] = value::string(t.plural + "/status");
      resources.push_back(s);
    }
    if (t.scale) {
      value s = r;
      s["name"] = value::string(t.plural + "/scale");
      s["group"] = value::string("autoscaling");
      s["version"] = value::string("v1");
      s["kind"] = value::string("Scale");
      resources.push_back(s);
    }
  }
  list["resources"] = value::array(resources);
  return list;
}

std::string Verb(const FakeRequest& r, const Route& route) {
  bool watch = r.query.count("watch") && (r.query.at("watch") == "1" || r.query.at("watch") == "true");
  if (r.method == "GET") return watch ? "watch" : route.name.empty() ? "list" : "get";
  if (r.method == "POST") return "create";
  if (r.method == "PUT") return "update";
  if (r.method == "PATCH") return "patch";
  if (r.method == "DELETE") return route.name.empty() ? "deletecollection" : "delete";
  return "";
}

Reply Forbidden(const std::string& who, const std::string& verb, const Route& route) {
  std::string resource = route.type->plural + (route.sub.empty() ? "" : "/" + route.sub);
  std::string msg = resource + (route.name.empty() ? "" : " \"" + route.name + "\"") + " is forbidden: User \"" + who +
                    "\" cannot " + verb + " resource \"" + resource + "\" in API group \"" + route.type->group + "\"" +
                    (route.ns.empty() ? " at the cluster scope" : " in the namespace \"" + route.ns + "\"");
  value details = value::object();
  details["name"] = value::string(route.name);
  details["group"] = value::string(route.type->group);
  details["kind"] = value::string(resource);
  return StatusReply(403, "Forbidden", msg, details);
}

}  // namespace

std::map<std::string, std::string> ParseQuery(const std::string& query) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start < query.size()) {
    size_t amp = query.find('&', start);
    std::string kv = query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    size_t eq = kv.find('=');
    if (!kv.empty()) out[Decode(kv.substr(0, eq))] = eq == std::string::npos ? "" : Decode(kv.substr(eq + 1));
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  return out;
}

Outcome HttpExchange::Handle(KubeFake& f, const FakeRequest& r) {
  Outcome out;
  ++f.requests_;
  std::chrono::milliseconds latency;
  {
    std::lock_guard<std::mutex> lock(f.mu_);
    latency = f.latency_;
    if (f.failCount_ > 0) {
      --f.failCount_;
      bool throttled = f.failCode_ == 429;
      out.reply = StatusReply(f.failCode_, throttled ? "TooManyRequests" : "ServiceUnavailable",
                              throttled ? "Too many requests, please try again later." : "the server is currently unable to handle the request");
      out.reply.headers.push_back({"Retry-After", std::to_string(f.retryAfter_)});
      return out;
    }
  }
  if (latency.count() > 0) std::this_thread::sleep_for(latency);

  // Who is calling.
  std::optional<std::vector<PolicyRule>> rules;
  std::string who;
  {
    std::lock_guard<std::mutex> lock(f.mu_);
    const std::string kBearer = "Bearer ";
    if (r.authorization.rfind(kBearer, 0) == 0 && f.tokens_.count(r.authorization.substr(kBearer.size()))) {
      rules = f.tokens_.at(r.authorization.substr(kBearer.size()));
      who = f.tokenUsers_[r.authorization.substr(kBearer.size())];
    } else if (r.authorization.empty() && !r.peerCommonName.empty() && f.certs_.count(r.peerCommonName)) {
      rules = f.certs_.at(r.peerCommonName);
      who = r.peerCommonName;
    } else {
      out.reply = StatusReply(401, "Unauthorized", "Unauthorized");
      return out;
    }
  }
  out.user = who;

  std::vector<std::string> seg = Segments(r.path);
  if (r.method == "GET" && seg.size() == 1 && seg[0] == "version") {
    out.reply.body = value::object();
    out.reply.body["major"] = value::string("1");
    out.reply.body["minor"] = value::string("32");
    out.reply.body["gitVersion"] = value::string("v1.32.0-kube-fake");
    return out;
  }
  // /api/v1/... or /apis/GROUP/VERSION/...
  std::string group, version;
  size_t i;
  if (seg.size() >= 2 && seg[0] == "api") {
    version = seg[1];
    i = 2;
  } else if (seg.size() >= 3 && seg[0] == "apis") {
    group = seg[1];
    version = seg[2];
    i = 3;
  } else {
    out.reply = StatusReply(404, "NotFound", "the server could not find the requested resource");
    return out;
  }
  std::lock_guard<std::mutex> lock(f.mu_);
  if (!f.store_.HasGroupVersion(group, version)) {
    out.reply = StatusReply(404, "NotFound", "the server could not find the requested resource");
    return out;
  }
  if (i == seg.size()) {
    out.reply.body = ResourceList(f.store_, group, version);
    return out;
  }
  Route route;
  if (seg.size() > i + 1 && seg[i] == "namespaces") {
    route.ns = seg[i + 1];
    i += 2;
  }
  if (i >= seg.size() || !(route.type = f.store_.FindType(group, version, seg[i]))) {
    out.reply = StatusReply(404, "NotFound", "the server could not find the requested resource");
    return out;
  }
  if (i + 1 < seg.size()) route.name = seg[i + 1];
  if (i + 2 < seg.size()) route.sub = seg[i + 2];
  const ResourceType& t = *route.type;
  const bool known_sub = route.sub.empty() || (route.sub == "status" && t.statusSubresource) ||
                         (route.sub == "scale" && t.scale);
  if (!known_sub || i + 3 < seg.size() ||
      (!t.namespaced && !route.ns.empty())) {
    out.reply = StatusReply(404, "NotFound", "the server could not find the requested resource");
    return out;
  }
  std::string verb = Verb(r, route);
  if (rules && !Allows(*rules, verb, t.group, t.plural + (route.sub.empty() ? "" : "/" + route.sub), route.name)) {
    out.reply = Forbidden(who, verb, route);
    return out;
  }
  auto q = [&](const char* k) { return r.query.count(k) ? r.query.at(k) : std::string(); };
  value body = value::null();
  if (!r.body.empty() && r.method != "PATCH") {
    try {
      body = value::parse(r.body);
    } catch (const std::exception& e) {
      out.reply = StatusReply(400, "BadRequest", std::string("the body is not JSON: ") + e.what());
      return out;
    }
  }
  bool status = route.sub == "status";
  bool scale = route.sub == "scale";
  if (scale && r.method != "GET" && r.method != "PUT" && r.method != "PATCH") {
    out.reply = StatusReply(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
    return out;
  }
  if (r.method == "GET" && verb == "watch") {
    out.watch = true;
    out.route = route;
    return out;
  }
  if (r.method == "GET" && route.name.empty()) {
    ListOptions o{q("labelSelector"), q("fieldSelector"), 0, q("continue")};
    if (!q("limit").empty()) o.limit = std::strtoul(q("limit").c_str(), nullptr, 10);
    out.reply = f.store_.List(t, route.ns, o);
  } else if (r.method == "GET" && scale) {
    out.reply = f.store_.GetScale(t, route.ns, route.name);
  } else if (r.method == "GET") {
    out.reply = f.store_.Get(t, route.ns, route.name);
  } else if (r.method == "POST" && route.name.empty()) {
    out.reply = f.store_.Create(t, route.ns, body);
  } else if (r.method == "PUT" && scale) {
    out.reply = f.store_.UpdateScale(t, route.ns, route.name, body);
  } else if (r.method == "PUT" && !route.name.empty()) {
    out.reply = f.store_.Update(t, route.ns, route.name, body, status);
  } else if (r.method == "PATCH" && !route.name.empty()) {
    std::string ct = r.contentType.substr(0, r.contentType.find(';'));
    PatchType pt;
    if (ct == "application/merge-patch+json") pt = PatchType::kMerge;
    else if (ct == "application/json-patch+json") pt = PatchType::kJson;
    else if (ct == "application/strategic-merge-patch+json") pt = PatchType::kStrategic;
    else if (ct == "application/apply-patch+yaml") pt = PatchType::kApply;
    else {
      out.reply = StatusReply(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                                                           "accepted media types include: application/json-patch+json, "
                                                           "application/merge-patch+json, application/apply-patch+yaml");
      return out;
    }
    out.reply = scale ? f.store_.PatchScale(t, route.ns, route.name, pt, r.body)
                      : f.store_.Patch(t, route.ns, route.name, pt, r.body, status,
                                       {q("fieldManager"), q("force") == "true"});
  } else if (r.method == "DELETE" && !route.name.empty()) {
    out.reply = f.store_.Delete(t, route.ns, route.name, body);
  } else {
    out.reply = StatusReply(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
  }
  f.changed_.notify_all();
  return out;
}

}  // namespace pgvigil::kube::fake
