// STUB until issue work lands: a component that starts and reports itself as not implemented.
#include "sidecar/watchdog/watchdog_component.h"
namespace pgvigil {
namespace {
class StubWatchdog : public Component {
 public:
  const char* name() const override { return "watchdog"; }
  Status Start() override { return Status::Ok(); }
  void Stop() override {}
  web::json::value Summary() const override {
    auto v = web::json::value::object();
    v["implemented"] = web::json::value::boolean(false);
    return v;
  }
};
}  // namespace
std::unique_ptr<Component> MakeWatchdogComponent(SidecarContext&) { return std::make_unique<StubWatchdog>(); }
}  // namespace pgvigil
