// The unknown-field pass. The kubernetes-models validators are generated code
// that never reject an extra property (Kubernetes' OpenAPI has no
// additionalProperties: false), so a misspelt field (`imagePullPolicy` as
// `imagePulPolicy`) passes them while the API server drops it or, with strict
// field validation, refuses it. The generated code reads each property its
// schema declares by name, and enumerates the keys of maps (labels,
// annotations, resources.limits) and of free-form objects. So the validator
// runs on a tracked copy: a key it neither read by name nor enumerated in its
// object is not in the schema, which is what an additionalProperties: false
// walk of the schema would report.

// copy: the document wrapped so that reads are recorded; seen: per object, the
// keys read by name, or true when all its keys were enumerated.
export function trackedCopy(doc) {
  const seen = new Map();
  const wrap = (value) => {
    if (!value || typeof value !== "object") return value;
    const target = Array.isArray(value) ? value.map(wrap) : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, wrap(v)]));
    seen.set(target, new Set());
    const proxy = new Proxy(target, {
      get(t, key, receiver) {
        if (typeof key === "string" && seen.get(t) !== true) seen.get(t).add(key);
        return Reflect.get(t, key, receiver);
      },
      has(t, key) {
        if (typeof key === "string" && seen.get(t) !== true) seen.get(t).add(key);
        return Reflect.has(t, key);
      },
      ownKeys(t) {
        seen.set(t, true);
        return Reflect.ownKeys(t);
      },
    });
    origin.set(value, target);
    return proxy;
  };
  const origin = new WeakMap();
  const copy = wrap(doc);
  return { copy, seen: (value) => seen.get(origin.get(value)) };
}

import fs from "node:fs";

// A CRD's schema (JSONSchemaProps) is recursive, and its generated validator
// stops following it after the first level, so that subtree is walked here with
// the JSONSchemaProps field names of the same package's type declaration.
const SCHEMA_PROPS_KEYS = new Set(
  [...fs.readFileSync(new URL("./node_modules/kubernetes-models/apiextensions.k8s.io/v1/JSONSchemaProps.d.ts", import.meta.url), "utf8")
    .matchAll(/^\s+"([^"]+)"\?:/gm)].map((m) => m[1]));

function schemaPropsUnknown(node, path, out) {
  if (!node || typeof node !== "object" || Array.isArray(node)) return;
  for (const [k, v] of Object.entries(node)) {
    const p = `${path}.${k}`;
    if (!SCHEMA_PROPS_KEYS.has(k)) out.push(p);
    else if (["properties", "patternProperties", "definitions"].includes(k) && v && typeof v === "object")
      for (const [name, sub] of Object.entries(v)) schemaPropsUnknown(sub, `${p}.${name}`, out);
    else if (["allOf", "anyOf", "oneOf"].includes(k) && Array.isArray(v)) v.forEach((sub, i) => schemaPropsUnknown(sub, `${p}[${i}]`, out));
    else if (k === "items" && Array.isArray(v)) v.forEach((sub, i) => schemaPropsUnknown(sub, `${p}[${i}]`, out));
    else if (["items", "not", "additionalProperties", "additionalItems"].includes(k)) schemaPropsUnknown(v, p, out);
  }
}

// Paths (a.b[0].c) of keys in doc that the validator never looked at.
export function unknownFields(doc, seen) {
  const out = [];
  const walk = (value, path) => {
    if (!value || typeof value !== "object") return;
    if (Array.isArray(value)) return value.forEach((v, i) => walk(v, `${path}[${i}]`));
    if (doc.kind === "CustomResourceDefinition" && path.endsWith(".schema.openAPIV3Schema")) return schemaPropsUnknown(value, path, out);
    const s = seen(value);
    for (const [k, v] of Object.entries(value)) {
      const p = path ? `${path}.${k}` : k;
      if (s !== true && !(s && s.has(k))) out.push(p);
      else walk(v, p);
    }
  };
  walk(doc, "");
  return out;
}
