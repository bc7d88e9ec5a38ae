// vigilctl commands that talk to the controller's REST API (default
// http://127.0.0.1:9900, or --controller URL / PGVIGIL_CONTROLLER):
//   status [-o table|json|yaml|pool_nodes], apply -f FILE, switchover --to NODE,
//   recover NODE [--no-wait], attach NODE, detach NODE.
// Mutations send the bearer token from --token-file FILE (or PGVIGIL_TOKEN_FILE, or
// for apply the spec's own api.tokenFile).
#include <chrono>
#include <cstdlib>
#include <iostream>

#include "common/files.h"
#include "common/rest_client.h"
#include "common/spec_parser.h"
#include "controller/status/cluster_status.h"
#include "controller/vigilctl/commands.h"
#include "controller/vigilctl/status_output.h"

namespace pgvigil {

namespace {

std::string ControllerUrl(const CommandLine& cl) {
  const char* env = std::getenv("PGVIGIL_CONTROLLER");
  return cl.Value("--controller", env ? env : "http://127.0.0.1:9900");
}

// Token from --token-file, PGVIGIL_TOKEN_FILE, or `fallback_file`; "" when none.
Result<std::string> Token(const CommandLine& cl, const std::string& fallback_file = "") {
  const char* env = std::getenv("PGVIGIL_TOKEN_FILE");
  std::string file = cl.Value("--token-file", env ? env : fallback_file);
  if (file.empty()) return std::string();
  return ReadSecretFile(file);
}

// Reads (so marks as known) the options every request command takes; call before
// CheckUnknown.
void MarkRequestOptions(const CommandLine& cl) {
  (void)cl.Value("--controller");
  (void)cl.Value("--token-file");
}

bool CheckUnknown(const CommandLine& cl, const char* cmd) {
  if (cl.Unknown().empty()) return true;
  std::cerr << "vigilctl " << cmd << ": unknown option " << cl.Unknown().front() << "\n";
  return false;
}

// Prints the failure of a call and returns the exit code for it.
int Failed(const char* cmd, const std::string& url, const std::string& why) {
  std::cerr << "vigilctl " << cmd << ": " << url << ": " << why << "\n";
  return 1;
}

Result<ClusterStatus> FetchStatus(RestClient& c) {
  auto r = c.Get("/v1/status");
  if (!r.ok()) return r.status();
  if (r->status != 200) return Result<ClusterStatus>::Error(DescribeFailure(*r));
  return ClusterStatusFromJson(r->body);
}

// The caller has checked the options (CheckUnknown after ControllerUrl and Token).
int PostRequest(const CommandLine& cl, const char* cmd, const std::string& path,
                const web::json::value& body) {
  std::string url = ControllerUrl(cl);
  auto token = Token(cl);
  if (!token.ok()) return Failed(cmd, "token", token.error());
  if (token->empty())
    return Failed(cmd, url,
                  "no API token: pass --token-file FILE (the spec's api.tokenFile) or set "
                  "PGVIGIL_TOKEN_FILE");
  RestClient c(url, *token, std::chrono::milliseconds(5000));
  auto r = c.Post(path, body);
  if (!r.ok()) return Failed(cmd, url, r.error());
  if (r->status != 202 && r->status != 200) return Failed(cmd, url, DescribeFailure(*r));
  std::cout << r->body.serialize() << "\n";
  return 0;
}

}  // namespace

int CmdStatus(const CommandLine& cl) {
  std::string format = cl.Value("-o", cl.Value("--output", "table"));
  std::string url = ControllerUrl(cl);
  if (!CheckUnknown(cl, "status")) return 2;
  RestClient c(url, "", std::chrono::milliseconds(5000));
  auto r = c.Get("/v1/status");
  if (!r.ok()) return Failed("status", url, r.error());
  if (r->status != 200) return Failed("status", url, DescribeFailure(*r));
  return PrintStatus(r->body, format, url);
}

int CmdApply(const CommandLine& cl) {
  std::string file = cl.Value("-f", cl.Value("--file"));
  std::string url = ControllerUrl(cl);
  std::string token_file = cl.Value("--token-file");
  if (!CheckUnknown(cl, "apply")) return 2;
  if (file.empty()) {
    std::cerr << "usage: vigilctl apply -f SPEC.yaml [--controller URL] [--token-file FILE]\n";
    return 2;
  }
  // Validate here first: the user sees positions in their own file.
  SpecLoad load = LoadSpecFile(file);
  if (!load.ok()) {
    std::cerr << load.ErrorText() << "\nvigilctl apply: nothing was applied\n";
    return 1;
  }
  auto text = ReadFile(file);
  if (!text.ok()) return Failed("apply", file, text.error());
  auto token = Token(cl, load.spec->api.tokenFile);
  if (!token.ok()) return Failed("apply", "token", token.error());
  RestClient c(url, *token, std::chrono::milliseconds(10000));
  auto r = c.PutText("/v1/spec", *text);
  if (!r.ok()) return Failed("apply", url, r.error());
  if (r->status != 200) {
    std::cerr << "vigilctl apply: " << DescribeFailure(*r) << "\n";
    if (r->body.is_object() && r->body.has_field("errors"))
      for (const auto& e : r->body.at("errors").as_array()) std::cerr << "  " << e.as_string() << "\n";
    return 1;
  }
  std::cout << file << ": applied to " << url << " (" << load.spec->nodes.size() << " nodes)\n";
  if (r->body.is_object() && r->body.has_string_field("warning"))
    std::cerr << "vigilctl apply: warning: " << r->body.at("warning").as_string() << "\n";
  return 0;
}

int CmdSwitchover(const CommandLine& cl) {
  std::string to = cl.Value("--to");
  if (to.empty() && !cl.Positional().empty()) to = cl.Positional().front();
  MarkRequestOptions(cl);
  if (!CheckUnknown(cl, "switchover")) return 2;
  if (to.empty()) {
    std::cerr << "usage: vigilctl switchover --to NODE\n";
    return 2;
  }
  web::json::value body = web::json::value::object();
  body["to"] = web::json::value::string(to);
  return PostRequest(cl, "switchover", "/v1/switchover", body);
}

static int NodeVerb(const CommandLine& cl, const char* verb) {
  if (cl.Positional().empty()) {
    std::cerr << "usage: vigilctl " << verb << " NODE\n";
    return 2;
  }
  std::string node = cl.Positional().front();
  bool no_wait = cl.Has("--no-wait");
  MarkRequestOptions(cl);
  if (!CheckUnknown(cl, verb)) return 2;
  int rc = PostRequest(cl, verb, "/v1/nodes/" + node + "/" + verb, web::json::value::object());
  if (rc != 0 || std::string(verb) != "recover" || no_wait) return rc;
  // recover: a live progress line until the node streams (or the operation fails).
  std::string url = ControllerUrl(cl);
  RestClient c(url, "", std::chrono::milliseconds(5000));
  return FollowRecovery(node, [&c] { return FetchStatus(c); });
}

int CmdRecover(const CommandLine& cl) { return NodeVerb(cl, "recover"); }
int CmdAttach(const CommandLine& cl) { return NodeVerb(cl, "attach"); }
int CmdDetach(const CommandLine& cl) { return NodeVerb(cl, "detach"); }

}  // namespace pgvigil
