// kube-fake's control requests (kube_fake_control.h); no sockets here.
#include "controller/kube/testing/kube_fake_control.h"

#include <fstream>
#include <map>
#include <sstream>

#include <cpprest/asyncrt_utils.h>
#include <yaml-cpp/yaml.h>

#include "controller/kube/render_json.h"

namespace pgvigil::kube::fake {
namespace {

using web::json::value;

std::map<std::string, std::string> Query(const std::string& target) {
  std::map<std::string, std::string> q;
  size_t at = target.find('?');
  if (at == std::string::npos) return q;
  std::istringstream in(target.substr(at + 1));
  std::string pair;
  while (std::getline(in, pair, '&')) {
    size_t eq = pair.find('=');
    if (eq == std::string::npos) q[pair] = "";
    else q[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  return q;
}

// A non-negative integer query parameter; nullopt when absent or not a number.
std::optional<int> IntParam(const std::map<std::string, std::string>& q, const std::string& name) {
  auto it = q.find(name);
  if (it == q.end() || it->second.empty() || it->second.size() > 9) return std::nullopt;
  for (char c : it->second)
    if (c < '0' || c > '9') return std::nullopt;
  return std::stoi(it->second);
}

ControlReply Bad(const std::string& what) { return {400, what + "\n"}; }

// stringData is write-only sugar of the API server: folded into data (base64).
void FoldStringData(value* obj) {
  if (!obj->has_object_field("stringData")) return;
  if (!obj->has_object_field("data")) (*obj)["data"] = value::object();
  for (const auto& [k, v] : obj->at("stringData").as_object()) {
    if (!v.is_string()) continue;
    const std::string s = v.as_string();
    (*obj)["data"][k] = value::string(utility::conversions::to_base64(std::vector<unsigned char>(s.begin(), s.end())));
  }
  obj->erase("stringData");
}

std::string ApplyOne(KubeFake* fake, value obj) {
  const std::string api = StringField(obj, "apiVersion"), kind = StringField(obj, "kind");
  const std::string name = StringField(obj, "metadata.name");
  std::string ns = StringField(obj, "metadata.namespace");
  const std::string what = kind + " " + (ns.empty() ? "" : ns + "/") + name;
  if (name.empty()) return "error " + what + ": metadata.name missing";
  FoldStringData(&obj);
  return fake->WithStore([&](ObjectStore& store) -> std::string {
    const ResourceType* type = nullptr;
    std::vector<ResourceType> types = store.Types();
    for (const auto& t : types)
      if (t.ApiVersion() == api && t.kind == kind) type = &t;
    if (!type) return "skipped " + what + " (a kind the double does not serve)";
    if (type->namespaced && ns.empty()) {
      ns = "default";
      obj["metadata"]["namespace"] = value::string(ns);
    }
    if (!type->namespaced) ns.clear();
    Reply r = store.Create(*type, ns, obj);
    if (r.code == 409) {
      Reply cur = store.Get(*type, ns, name);
      obj["metadata"]["resourceVersion"] = value::string(StringField(cur.body, "metadata.resourceVersion"));
      r = store.Update(*type, ns, name, obj, false);
      if (r.code < 300) return "configured " + what;
    } else if (r.code < 300) {
      return "created " + what;
    }
    return "error " + what + ": " + std::to_string(r.code) + " " + StringField(r.body, "message");
  });
}

ControlReply Apply(KubeFake* fake, const std::string& body) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(body);
  } catch (const YAML::Exception& e) {
    return Bad(std::string("apply: the body is not YAML: ") + e.what());
  }
  ControlReply out;
  for (const auto& d : docs) {
    if (!d.IsMap()) continue;  // empty documents between "---"
    std::string line = ApplyOne(fake, YamlToJson(d));
    if (line.rfind("error", 0) == 0) out.code = 422;
    out.body += line + "\n";
  }
  return out;
}

}  // namespace

ControlReply HandleControl(KubeFake* fake, const std::string& method, const std::string& target,
                           const std::string& body) {
  const std::string path = target.substr(0, target.find('?'));
  const auto q = Query(target);
  if (path == "/healthz" && method == "GET") return {200, "ok\n"};
  if (method != "POST") return {405, "use POST (GET only for /healthz)\n"};
  if (path != "/apply") fake->NoteControl(target);  // /apply's objects show in the store
  if (path == "/down" || path == "/up") {
    fake->SetDown(path == "/down");
    return {200, path.substr(1) + "\n"};
  }
  if (path == "/compact") {
    fake->Compact();
    return {200, "compacted\n"};
  }
  if (path == "/drop-watches") {
    fake->DropWatches();
    return {200, "dropped\n"};
  }
  if (path == "/latency") {
    auto ms = IntParam(q, "ms");
    if (!ms) return Bad("latency: ms=N (a non-negative integer) required");
    fake->SetLatency(std::chrono::milliseconds(*ms));
    return {200, "latency " + std::to_string(*ms) + " ms\n"};
  }
  if (path == "/fail") {
    auto code = IntParam(q, "code"), count = IntParam(q, "count");
    auto retry = q.count("retry-after") ? IntParam(q, "retry-after") : std::optional<int>(1);
    if (!code || (*code != 429 && *code != 503)) return Bad("fail: code=429 or code=503 required");
    if (!count || !retry) return Bad("fail: count=N and retry-after=S must be non-negative integers");
    fake->FailNext(*count, *code, *retry);
    return {200, "next " + std::to_string(*count) + " requests answer " + std::to_string(*code) + "\n"};
  }
  if (path == "/hold-pod" || path == "/release-pod") {
    // A pod whose kubelet does not confirm its deletion (ObjectStore::HoldPodDeletion).
    auto ns = q.find("namespace"), name = q.find("name");
    if (ns == q.end() || name == q.end() || ns->second.empty() || name->second.empty())
      return Bad(path.substr(1) + ": namespace=NS&name=POD required");
    if (path == "/hold-pod") {
      fake->WithStore([&](ObjectStore& s) {
        s.HoldPodDeletion(ns->second, name->second);
        return 0;
      });
      return {200, "pod " + ns->second + "/" + name->second + " stays Terminating once deleted\n"};
    }
    const bool released = fake->WithStore([&](ObjectStore& s) { return s.ReleasePod(ns->second, name->second); });
    return {200, "pod " + ns->second + "/" + name->second +
                     (released ? " released\n" : " released (it was not Terminating)\n")};
  }
  if (path == "/apply") return Apply(fake, body);
  return {404, "unknown control path " + path + "\n"};
}

Result<ManifestParts> ReadManifests(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Result<ManifestParts>::Error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  // The CRD document's own text (re-emitting it would lose the quotes of
  // strings such as "True" that the YAML 1.2 reader must keep as strings).
  ManifestParts parts;
  std::istringstream lines(ss.str());
  std::string line, doc;
  auto take = [&] {
    try {
      YAML::Node d = YAML::Load(doc);
      if (d.IsMap() && d["kind"] && d["kind"].Scalar() == "CustomResourceDefinition") {
        if (!parts.crdYaml.empty()) return Status::Error(path + ": more than one CustomResourceDefinition");
        parts.crdYaml = doc;
      }
    } catch (const YAML::Exception& e) {
      return Status::Error(path + ": " + e.what());
    }
    doc.clear();
    return Status::Ok();
  };
  while (std::getline(lines, line)) {
    if (line == "---") {
      Status st = take();
      if (!st.ok()) return st;
    } else {
      doc += line + "\n";
    }
  }
  Status st = take();
  if (!st.ok()) return st;
  if (parts.crdYaml.empty()) return Result<ManifestParts>::Error(path + ": no CustomResourceDefinition");
  auto rules = ParseRolesBoundTo(ss.str(), kControllerServiceAccount);
  if (!rules.ok()) return Result<ManifestParts>::Error(path + ": " + rules.error());
  if (rules->empty()) return Result<ManifestParts>::Error(path + ": no Role or ClusterRole rules");
  parts.rules = *rules;
  return parts;
}

}  // namespace pgvigil::kube::fake
