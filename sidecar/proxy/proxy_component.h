// STUB (owned by the proxy work, issue 3): replace with the real proxy.
#pragma once
#include <memory>
#include "sidecar/component.h"
namespace pgvigil {
std::unique_ptr<Component> MakeProxyComponent(SidecarContext& ctx);
}
