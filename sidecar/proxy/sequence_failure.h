// How the proxy fails a client's extended-protocol sequence on a backend when
// an error of the proxy's own (a statement it refuses, a backend it cannot
// reach) ends that sequence: PostgreSQL rolls back the implicit transaction of
// a sequence that meets an error, or leaves an explicit transaction block
// failed ('E'). A Sync alone would commit what the backend ran of the
// sequence, so the proxy first sends a message that fails for sure and
// changes nothing: a Describe of a prepared statement no client names (its
// 26000 error and the ReadyForQuery behind it are absorbed, the client sees
// the proxy's error instead). Pure.
#pragma once

#include <string>

#include "sidecar/proxy/wire_messages.h"

namespace pgvigil::proxy {

// The statement name the failing Describe asks for (never prepared; it shows
// in the server's log line for the error, saying where it came from).
inline constexpr const char* kSequenceFailureName = "pgvigil: sequence ended by an error of the proxy";

// Appends the failing message (a Describe of kSequenceFailureName).
void AppendSequenceFailure(std::string* out);

// The backend's answer to that message: SQLSTATE 26000 naming the statement
// (the message text may be translated; the quoted name is kept as it is).
bool IsSequenceFailure(const ErrorFields& e);

}  // namespace pgvigil::proxy
