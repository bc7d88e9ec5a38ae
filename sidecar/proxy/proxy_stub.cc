// STUB until issue work lands: a component that starts and reports itself as not implemented.
#include "sidecar/proxy/proxy_component.h"
namespace pgvigil {
namespace {
class StubProxy : public Component {
 public:
  const char* name() const override { return "proxy"; }
  Status Start() override { return Status::Ok(); }
  void Stop() override {}
  web::json::value Summary() const override {
    auto v = web::json::value::object();
    v["implemented"] = web::json::value::boolean(false);
    return v;
  }
};
}  // namespace
std::unique_ptr<Component> MakeProxyComponent(SidecarContext&) { return std::make_unique<StubProxy>(); }
}  // namespace pgvigil
