#!/usr/bin/env node
// Compile every contracts/*.sol with the pinned solc from node_modules and write one
// artifact per source file to contracts/artifacts/<Name>.json.
//
//   node scripts/compile-contracts.mjs          write the artifacts
//   node scripts/compile-contracts.mjs --check  compile in memory; exit 1 if any committed
//                                               artifact differs byte for byte (CI uses this)
//
// The output is deterministic: keys are sorted at every level, two-space indentation, one
// trailing newline. The same sources and solc give the same bytes on every run.

import { createHash } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const PINNED_SOLC = "0.8.30";

// Why "paris": the contract uses no opcode newer than the Merge, and paris bytecode (no PUSH0,
// MCOPY or transient storage) runs on every EVM chain we target, including L2s and consortium
// chains (FISCO BCOS, older Besu) that lag behind mainnet forks. The embedded py-evm chain
// (Prague) and anvil 1.7.1 both accept it; the cost is a few gas per PUSH0 that solc would
// otherwise use.
const SETTINGS = {
  evmVersion: "paris",
  metadata: { bytecodeHash: "ipfs" },
  optimizer: { enabled: true, runs: 200 },
  outputSelection: {
    "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] },
  },
};

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const CONTRACTS_DIR = join(ROOT, "contracts");
const ARTIFACTS_DIR = join(CONTRACTS_DIR, "artifacts");

function fail(message) {
  console.error(`compile-contracts: ${message}`);
  process.exit(1);
}

function loadSolc() {
  const require = createRequire(import.meta.url);
  let solc;
  try {
    solc = require("solc");
  } catch (err) {
    fail(`cannot load the npm package "solc" (${err.message}); run \`npm ci\` first`);
  }
  const version = solc.version();
  if (!version.startsWith(`${PINNED_SOLC}+`)) {
    fail(`solc ${version} is installed but ${PINNED_SOLC} is pinned; run \`npm ci\``);
  }
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const declared = pkg.devDependencies?.solc;
  if (declared !== PINNED_SOLC) {
    fail(`package.json pins solc ${declared}, this script pins ${PINNED_SOLC}; make them agree`);
  }
  return solc;
}

// Recursively sort object keys so the JSON text does not depend on insertion order.
function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key]);
    return out;
  }
  return value;
}

function compile(solc) {
  const files = readdirSync(CONTRACTS_DIR)
    .filter((f) => f.endsWith(".sol"))
    .sort();
  if (files.length === 0) fail(`no .sol files in ${relative(ROOT, CONTRACTS_DIR)}`);

  const sources = {};
  for (const file of files) {
    sources[`contracts/${file}`] = { content: readFileSync(join(CONTRACTS_DIR, file), "utf8") };
  }
  const input = { language: "Solidity", sources, settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));

  const diagnostics = output.errors ?? [];
  for (const d of diagnostics) console.error(d.formattedMessage ?? d.message);
  if (diagnostics.length > 0) {
    // Warnings fail too: the contracts are small enough to stay warning-free.
    fail(`solc reported ${diagnostics.length} error(s)/warning(s); see above`);
  }

  const artifacts = new Map();
  for (const file of files) {
    const sourcePath = `contracts/${file}`;
    const name = file.slice(0, -".sol".length);
    const contract = output.contracts?.[sourcePath]?.[name];
    if (!contract) fail(`${sourcePath} must define a contract named ${name}`);
    const artifact = sortKeys({
      abi: contract.abi,
      bytecode: `0x${contract.evm.bytecode.object}`,
      compiler: { name: "solc", version: solc.version() },
      contractName: name,
      deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
      settings: SETTINGS,
      source: {
        path: sourcePath,
        sha256: createHash("sha256").update(sources[sourcePath].content, "utf8").digest("hex"),
      },
    });
    artifacts.set(`${name}.json`, `${JSON.stringify(artifact, null, 2)}\n`);
  }
  return artifacts;
}

function firstDifference(a, b) {
  const aLines = a.split("\n");
  const bLines = b.split("\n");
  for (let i = 0; i < Math.max(aLines.length, bLines.length); i++) {
    if (aLines[i] !== bLines[i]) return i + 1;
  }
  return null;
}

function check(artifacts) {
  const problems = [];
  for (const [file, text] of artifacts) {
    const path = join(ARTIFACTS_DIR, file);
    const shown = relative(ROOT, path);
    if (!existsSync(path)) {
      problems.push(`${shown} is missing`);
      continue;
    }
    const committed = readFileSync(path, "utf8");
    if (committed !== text) {
      problems.push(`${shown} differs from a fresh compile (first at line ${firstDifference(committed, text)})`);
    }
  }
  if (existsSync(ARTIFACTS_DIR)) {
    for (const file of readdirSync(ARTIFACTS_DIR).filter((f) => f.endsWith(".json")).sort()) {
      if (!artifacts.has(file)) {
        problems.push(`contracts/artifacts/${file} has no source contracts/${file.replace(/\.json$/, ".sol")}`);
      }
    }
  }
  if (problems.length > 0) {
    for (const p of problems) console.error(`compile-contracts: ${p}`);
    fail("committed artifacts are stale; run `make contracts` and commit the result");
  }
  console.log(`compile-contracts: ${artifacts.size} artifact(s) match solc ${PINNED_SOLC}`);
}

function write(artifacts) {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  for (const [file, text] of artifacts) {
    const path = join(ARTIFACTS_DIR, file);
    const unchanged = existsSync(path) && readFileSync(path, "utf8") === text;
    if (!unchanged) writeFileSync(path, text);
    console.log(`compile-contracts: ${relative(ROOT, path)} ${unchanged ? "unchanged" : "written"}`);
  }
}

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== "--check");
if (unknown.length > 0) fail(`unknown argument(s): ${unknown.join(" ")} (usage: [--check])`);

const artifacts = compile(loadSolc());
if (args.includes("--check")) check(artifacts);
else write(artifacts);
