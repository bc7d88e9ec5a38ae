// STUB until issue work lands: a component that starts and reports itself as not implemented.
#include "sidecar/agent/agent_component.h"
namespace pgvigil {
namespace {
class StubAgent : public Component {
 public:
  const char* name() const override { return "agent"; }
  Status Start() override { return Status::Ok(); }
  void Stop() override {}
  web::json::value Summary() const override {
    auto v = web::json::value::object();
    v["implemented"] = web::json::value::boolean(false);
    return v;
  }
};
}  // namespace
std::unique_ptr<Component> MakeAgentComponent(SidecarContext&, std::vector<std::unique_ptr<Component>>*) {
  return std::make_unique<StubAgent>();
}
}  // namespace pgvigil
