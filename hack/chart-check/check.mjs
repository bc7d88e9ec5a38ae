// Offline checks of rendered Kubernetes objects (hack/chart-check.sh).
//   node check.mjs objects FILE...        every object against the real Kubernetes
//       schemas of kubernetes-models, then the unknown-field pass
//   node check.mjs command FILE           the command of each Deployment's first
//       container, one argument a line (the flag check of hack/chart-check.sh)
//   node check.mjs crs CRD_FILE FILE...   every PostgresCluster in FILE... against
//       the CRD's openAPIV3Schema (ajv); other kinds in those files go through
//       the object checks
// Prints one line per problem (file: kind/name: path: message); exit 1 on any.
import fs from "node:fs";
import yaml from "js-yaml";
import Ajv from "ajv";
import { trackedCopy, unknownFields } from "./unknown_fields.mjs";

// Kinds with no schema here (CRDs of other projects); named, never silently passed.
const NO_SCHEMA = new Set(["monitoring.coreos.com/v1/PodMonitor"]);

function documents(file) {
  // Template directive lines (the chart's CRD source) are dropped, as the C++ readers do.
  const text = fs.readFileSync(file, "utf8").split("\n").filter((l) => !/^\s*\{\{/.test(l)).join("\n");
  return yaml.loadAll(text).filter((d) => d && typeof d === "object");
}

async function modelOf(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const spec = group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`;
  try {
    const mod = await import(spec);
    return mod[kind];
  } catch {
    return undefined;
  }
}

const problems = [];
const report = (file, doc, msg) =>
  problems.push(`${file}: ${doc.kind ?? "?"}/${doc.metadata?.name ?? "?"}: ${msg}`);

async function checkObject(file, doc) {
  if (!doc.apiVersion || !doc.kind) return report(file, doc, "no apiVersion or kind");
  if (NO_SCHEMA.has(`${doc.apiVersion}/${doc.kind}`)) {
    console.log(`${file}: ${doc.kind}/${doc.metadata?.name}: no schema here (${doc.apiVersion}), not checked`);
    return;
  }
  const Model = await modelOf(doc.apiVersion, doc.kind);
  if (!Model) return report(file, doc, `unknown apiVersion/kind ${doc.apiVersion} ${doc.kind}`);
  const { copy, seen } = trackedCopy(doc);
  try {
    Model.prototype.validate.call(copy);
  } catch (e) {
    return report(file, doc, e.message);
  }
  for (const path of unknownFields(doc, seen)) report(file, doc, `${path}: unknown field`);
}

function checkCr(file, doc, validate) {
  if (!validate(doc)) {
    for (const e of validate.errors) report(file, doc, `${e.instancePath || "/"}: ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ""}`);
  }
}

// The structural-schema rules the API server applies that plain JSON Schema lacks:
// unknown fields are pruned (reported here as errors), x-kubernetes-* keywords ignored.
function strictSchema(s) {
  if (Array.isArray(s)) return s.map(strictSchema);
  if (!s || typeof s !== "object") return s;
  const out = {};
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith("x-kubernetes-")) continue;
    out[k] = k === "properties" ? Object.fromEntries(Object.entries(v).map(([p, ps]) => [p, strictSchema(ps)])) : strictSchema(v);
  }
  if (out.type === "object" && out.properties && out.additionalProperties === undefined && !s["x-kubernetes-preserve-unknown-fields"])
    out.additionalProperties = false;
  return out;
}

const [mode, ...args] = process.argv.slice(2);
if (mode === "objects") {
  for (const f of args) for (const d of documents(f)) await checkObject(f, d);
} else if (mode === "command") {
  for (const d of documents(args[0]))
    if (d.kind === "Deployment") for (const a of d.spec.template.spec.containers[0].command) console.log(a);
} else if (mode === "crs") {
  const [crdFile, ...files] = args;
  const crd = documents(crdFile).find((d) => d.kind === "CustomResourceDefinition");
  const ver = crd.spec.versions.find((v) => v.storage);
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addFormat("date-time", true).addFormat("int32", true).addFormat("int64", true);
  const validate = ajv.compile(strictSchema(ver.schema.openAPIV3Schema));
  const kind = crd.spec.names.kind, apiVersion = `${crd.spec.group}/${ver.name}`;
  for (const f of files) {
    for (const d of documents(f)) {
      if (d.kind === kind && d.apiVersion === apiVersion) checkCr(f, d, validate);
      else await checkObject(f, d);
    }
  }
} else {
  console.error("usage: node check.mjs objects FILE... | command FILE | crs CRD_FILE FILE...");
  process.exit(2);
}
for (const p of problems) console.log(p);
process.exit(problems.length ? 1 : 0);
