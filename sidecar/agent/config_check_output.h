// What PostgreSQL printed when it read a configuration file without starting
// (`postgres -D DIR -C NAME -c log_line_prefix=`, run with LC_ALL=C): whether
// it refused the file, and its own words for why. A postmaster refuses to
// start on the same file ("configuration file ... contains errors", FATAL),
// which is what start_parameter_check.h keeps away from a start. Pure.
#pragma once

#include <string>

namespace pgvigil {

struct ConfigCheckVerdict {
  bool refused = false;  // PostgreSQL said the file contains errors
  // Its messages about the file, "; "-joined, without the closing FATAL and
  // the note about a missing postgresql.auto.conf: `invalid value for
  // parameter "work_mem": "lots"; HINT: ...`.
  std::string reason;
};

ConfigCheckVerdict ReadConfigCheckOutput(const std::string& output);

}  // namespace pgvigil
