// vigilctl import-pgpool -f pgpool.conf [--hba pool_hba.conf] [--pool-passwd FILE] ...
// Reads an existing Pgpool-II configuration and writes the pgvigil cluster spec it
// amounts to (stdout or -o FILE), after running it through the spec validator; the
// report (what was mapped, made unnecessary, cannot be honoured, secret files to
// create) goes to stderr or --report FILE. The mapping itself is pure
// (controller/vigilctl/pgpool/); this file only reads and writes.
#include <iostream>

#include "common/files.h"
#include "common/spec_parser.h"
#include "controller/vigilctl/commands.h"
#include "controller/vigilctl/pgpool/pgpool_import.h"
#include "controller/vigilctl/pgpool/pgpool_values.h"

namespace pgvigil {

namespace {

const char kUsage[] =
    "usage: vigilctl import-pgpool -f PGPOOL_CONF [-o SPEC.yaml] [--report FILE] [-v]\n"
    "         [--hba POOL_HBA_CONF] [--pool-passwd POOL_PASSWD] [--pool-key KEYFILE]\n"
    "         [--name NAME] [--secrets-dir DIR] [--node-names N1,N2,...] [--replication-user "
    "NAME]\n"
    "         [--pg-version N] [--pg-bin DIR] [--no-file-check]\n";

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

int CmdImportPgpool(const CommandLine& cl) {
  std::string conf_path = cl.Value("-f", cl.Value("--file"));
  if (conf_path.empty() && !cl.Positional().empty()) conf_path = cl.Positional().front();
  std::string out_path = cl.Value("-o", cl.Value("--output"));
  std::string report_path = cl.Value("--report");
  bool verbose = cl.Has("-v") || cl.Has("--verbose");
  bool no_files = cl.Has("--no-file-check");
  pgpool::ImportOptions opt;
  opt.name = cl.Value("--name", opt.name);
  opt.secretsDir = cl.Value("--secrets-dir", opt.secretsDir);
  opt.nodeNames = pgpool::SplitList(cl.Value("--node-names"));
  opt.replicationUser = cl.Value("--replication-user", opt.replicationUser);
  opt.binDirectory = cl.Value("--pg-bin");
  opt.hbaFile = cl.Value("--hba");
  opt.passwordFile = cl.Value("--pool-passwd");
  opt.keyFile = cl.Value("--pool-key");
  std::string version = cl.Value("--pg-version", "15");
  auto v = pgpool::ParseInt(version, pgpool::Unit::kNone);
  if (!cl.Unknown().empty() || conf_path.empty() || cl.Positional().size() > 1 || !v || *v < 13 ||
      *v > 17) {
    if (!cl.Unknown().empty())
      std::cerr << "vigilctl import-pgpool: unknown option " << cl.Unknown().front() << "\n";
    if (v && (*v < 13 || *v > 17))
      std::cerr << "vigilctl import-pgpool: --pg-version must be 13 to 17\n";
    std::cerr << kUsage;
    return 2;
  }
  opt.postgresVersion = static_cast<int>(*v);

  auto text = ReadFile(conf_path);
  if (!text.ok()) {
    std::cerr << "vigilctl import-pgpool: " << conf_path << ": " << text.error() << "\n";
    return 1;
  }
  pgpool::PgpoolConf conf =
      pgpool::ParsePgpoolConf(*text, conf_path, [](const std::string& p) { return ReadFile(p); });
  pgpool::AuthFiles auth = pgpool::AuthPaths(conf, conf_path, opt);
  auto read_optional = [](const std::string& path, std::optional<std::string>* into) {
    if (path.empty()) return;
    if (auto t = ReadFile(path); t.ok()) *into = *t;
  };
  read_optional(auth.hbaPath, &auth.hbaText);
  read_optional(auth.passwordPath, &auth.passwordText);
  read_optional(auth.keyPath, &auth.keyText);
  if (auth.keyText) auth.keyText = FirstLine(*auth.keyText);
  pgpool::ImportResult result = pgpool::ImportPgpool(conf, conf_path, auth, opt);

  // The result must be a spec the project's own validator accepts.
  std::string yaml =
      "# Cluster spec imported from the Pgpool-II configuration " + conf_path +
      "\n# by `vigilctl import-pgpool`; its report lists what did not carry over.\n" +
      SpecToYaml(result.spec);
  std::string validation;
  if (result.ok()) {
    SpecParseOptions po;
    po.checkSecretFiles = !no_files;
    SpecLoad load = ParseSpec(yaml, out_path.empty() ? "(imported spec)" : out_path, po);
    if (!load.ok()) validation = load.ErrorText();
  }
  std::string report = pgpool::FormatReport(result, verbose);
  if (!validation.empty())
    report += "\n== the imported spec does not validate" +
              std::string(no_files ? "" : " (create the files it references, or --no-file-check)") +
              ":\n" + validation + "\n";
  if (!report_path.empty()) {
    if (Status s = WriteFileAtomic(report_path, report, 0644); !s.ok()) {
      std::cerr << "vigilctl import-pgpool: " << s.message() << "\n";
      return 1;
    }
  } else {
    std::cerr << report;
  }
  if (!result.ok() || !validation.empty()) {
    std::cerr << "vigilctl import-pgpool: no spec written ("
              << (result.ok() ? "it does not validate" : "errors")
              << (report_path.empty() ? "" : ", see " + report_path) << ")\n";
    return 1;
  }
  if (out_path.empty()) {
    std::cout << yaml;
  } else if (Status s = WriteFileAtomic(out_path, yaml, 0644); !s.ok()) {
    std::cerr << "vigilctl import-pgpool: " << s.message() << "\n";
    return 1;
  } else if (!report_path.empty()) {
    std::cerr << "spec written to " << out_path << ", report to " << report_path << "\n";
  }
  return 0;
}

}  // namespace pgvigil
