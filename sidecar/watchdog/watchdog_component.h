// The watchdog member of pgvigil-sidecar: UDP heartbeats (Boost.Asio) around the
// pure Election state machine, durable term/vote/register in ctx.stateDir, the
// VIP through the spec's commands, backend health from ctx.health published in
// heartbeats. MakeWatchdogComponent sets ctx.watchdog to the WatchdogApi.
#pragma once

#include <memory>

#include "sidecar/component.h"

namespace pgvigil {

std::unique_ptr<Component> MakeWatchdogComponent(SidecarContext& ctx);

}  // namespace pgvigil
