// The watchdog member of pgvigil-sidecar: UDP heartbeats (Boost.Asio) around the
// pure Election state machine, durable term/vote/register in ctx.stateDir, the
// VIP through the spec's commands, backend health from ctx.health published in
// heartbeats. MakeWatchdogComponent sets ctx.watchdog to the WatchdogApi.
#pragma once

#include <memory>

#include "sidecar/component.h"
#include "sidecar/watchdog/peer_addresses.h"

namespace pgvigil {

// resolve: how peers' host names are looked up; null: the system resolver (tests
// pass their own to control when a name starts to resolve).
std::unique_ptr<Component> MakeWatchdogComponent(SidecarContext& ctx,
                                                 watchdog::HostResolver resolve = nullptr);

}  // namespace pgvigil
