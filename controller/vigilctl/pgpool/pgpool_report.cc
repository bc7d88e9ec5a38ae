// The import report: what made it into the spec, what pgvigil makes unnecessary,
// what it cannot honour, and the secret files to create.
#include <sstream>

#include "controller/vigilctl/pgpool/pgpool_import.h"

namespace pgvigil::pgpool {

namespace {

std::string Shown(const Finding& f) {
  if (f.key.find("password") != std::string::npos || f.key.find("authkey") != std::string::npos)
    return f.value.empty() ? "''" : "(hidden)";
  std::string v = f.value.size() > 70 ? f.value.substr(0, 67) + "..." : f.value;
  return f.quoted ? "'" + v + "'" : v;
}

void Section(std::ostringstream& out, const ImportResult& r, FindingKind kind, const char* title) {
  size_t n = r.Count(kind);
  if (n == 0) return;
  out << "\n== " << title << " (" << n << ")\n";
  for (const auto& f : r.findings) {
    if (f.kind != kind) continue;
    if (!f.file.empty()) out << f.file << ":" << f.line << ": ";
    if (!f.key.empty()) out << f.key << " = " << Shown(f) << "\n    ";
    out << f.text << "\n";
  }
}

}  // namespace

std::string FormatReport(const ImportResult& r, bool verbose) {
  std::ostringstream out;
  const ClusterSpec& s = r.spec;
  out << "pgvigil import of a Pgpool-II configuration: " << s.nodes.size() << " node"
      << (s.nodes.size() == 1 ? "" : "s");
  for (size_t i = 0; i < s.nodes.size(); ++i)
    out << (i ? ", " : " (") << s.nodes[i].name << " " << s.nodes[i].host;
  out << (s.nodes.empty() ? "" : ")") << (s.vip.enabled() ? ", VIP " + s.vip.address : ", no VIP")
      << ", watchdog " << (s.watchdog.enabled ? "on" : "off") << "\n";
  out << r.Count(FindingKind::kMapped) << " settings mapped, " << r.Count(FindingKind::kUnnecessary)
      << " made unnecessary, " << r.Count(FindingKind::kUnsupported) << " cannot be honoured, "
      << r.Count(FindingKind::kWarning) << " warnings, " << r.Count(FindingKind::kError)
      << " errors\n";
  Section(out, r, FindingKind::kError, "errors: no spec written");
  Section(out, r, FindingKind::kUnnecessary, "made unnecessary by pgvigil (remove with Pgpool-II)");
  Section(out, r, FindingKind::kUnsupported, "cannot be honoured");
  Section(out, r, FindingKind::kWarning, "warnings");
  Section(out, r, FindingKind::kNote, "notes");
  if (!r.secrets.empty()) {
    out << "\n== secret files the spec references (create each with mode 0600, owned by the "
           "service user)\n";
    for (const auto& sf : r.secrets)
      out << sf.path << ": " << sf.purpose << "\n    " << sf.source << "\n";
  }
  if (verbose) Section(out, r, FindingKind::kMapped, "mapped");
  out << "\nSettings not in the file keep pgvigil's defaults (documented in common/spec.h).\n";
  return out.str();
}

}  // namespace pgvigil::pgpool
