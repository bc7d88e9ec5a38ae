#include "sidecar/proxy/tx_statement_names.h"

namespace pgvigil::proxy {

bool IsProxyStatementName(std::string_view name) {
  if (name.size() <= kProxyStatementPrefix.size() ||
      name.substr(0, kProxyStatementPrefix.size()) != kProxyStatementPrefix)
    return false;
  for (char c : name.substr(kProxyStatementPrefix.size()))
    if (c < '0' || c > '9') return false;
  return true;
}

bool ForeignStatement(std::string_view name, bool pinned) {
  return name.empty() || !pinned || IsProxyStatementName(name);
}

std::string MissingStatementMessage(std::string_view name) {
  if (name.empty()) return "unnamed prepared statement does not exist";
  return "prepared statement \"" + std::string(name) + "\" does not exist";
}

bool RefusedInAbortedTx(StmtKind kind) {
  return kind != StmtKind::kTxEnd && kind != StmtKind::kRollbackTo;
}

}  // namespace pgvigil::proxy
