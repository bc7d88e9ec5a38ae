// Internal to kube-fake: a parsed HTTP request and the request handling that
// does not depend on the transport (kube_fake_routes.cc, kube_fake_watch.cc).
#pragma once

#include <functional>
#include <map>
#include <string>

#include "controller/kube/testing/kube_fake.h"

namespace pgvigil::kube::fake {

struct FakeRequest {
  std::string method, path;
  std::map<std::string, std::string> query;  // decoded
  std::string rawQuery;  // as sent, for the request log
  std::string authorization, contentType, userAgent, body;
  std::string peerCommonName;  // of a verified client certificate, or ""
};

struct Route {
  const ResourceType* type = nullptr;
  std::string ns, name, sub;  // sub: "status" or ""
};

struct Outcome {
  Reply reply;
  bool watch = false;  // then `route` is to be streamed by Watch()
  Route route;
  std::string user;  // who called ("" when not authenticated)
};

struct HttpExchange {
  // Faults, authentication, routing, RBAC, then the store.
  static Outcome Handle(KubeFake& fake, const FakeRequest& request);
  // Streams a watch; `write` sends one chunk and returns false when the peer
  // is gone. Returns false when the stream must end without a final chunk.
  static bool Watch(KubeFake& fake, const FakeRequest& request, const Route& route,
                    const std::function<bool(const std::string&)>& write);
};

std::map<std::string, std::string> ParseQuery(const std::string& query);

}  // namespace pgvigil::kube::fake
