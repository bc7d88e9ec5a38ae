// Readiness and reload notifications to the service manager (the sd_notify
// datagram protocol, written here in a few lines instead of linking libsystemd).
// When the process was not started by systemd with Type=notify, NOTIFY_SOCKET is
// unset and every call is a no-op that succeeds. Thread-safe (no shared state).
#pragma once

#include <string>

#include "common/result.h"

namespace pgvigil {

// Sends STATE (e.g. "READY=1", "RELOADING=1", "STOPPING=1", "STATUS=...", several
// joined by '\n') as one datagram to the AF_UNIX socket named by $NOTIFY_SOCKET
// (a path, or "@name" for an abstract socket).
Status NotifyServiceManager(const std::string& state);

// The same with the socket address given (tests; "" behaves like an unset variable).
Status NotifySocket(const std::string& socket_address, const std::string& state);

}  // namespace pgvigil
