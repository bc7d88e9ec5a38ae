// STUB (owned by the watchdog work, issue 4): replace with the real watchdog.
#pragma once
#include <memory>
#include "sidecar/component.h"
namespace pgvigil {
std::unique_ptr<Component> MakeWatchdogComponent(SidecarContext& ctx);
}
