// Makes the npm WebAssembly solc answer like a native solc binary, so py-solc-x can drive it:
// `--version` prints the version; `--standard-json` reads the input on stdin and prints only the
// output JSON. Imports resolve the way Hardhat 3 names sources ("project/...", "npm/<pkg>@<ver>/..."),
// so both toolchains compile byte-identical contracts. See ../shared/TOOLCHAIN.md.
const fs = require("fs");
const path = require("path");

const root = process.env.LEDGER_PROJECT_ROOT || path.resolve(__dirname, "..", "..", "..");
const solc = require(require.resolve("solc", { paths: [root] }));

function resolveImport(name) {
  let file;
  const npm = /^npm\/((?:@[^/]+\/)?[^@/]+)@[^/]+\/(.*)$/.exec(name);
  if (npm) file = path.join(root, "node_modules", npm[1], npm[2]);
  else if (name.startsWith("project/")) file = path.join(root, name.slice("project/".length));
  else return { error: `import not found: ${name}` };
  try {
    return { contents: fs.readFileSync(file, "utf8") };
  } catch (e) {
    return { error: `cannot read ${file}: ${e.message}` };
  }
}

const args = process.argv.slice(2);
if (args.includes("--version")) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
} else if (args.includes("--standard-json")) {
  const input = fs.readFileSync(0, "utf8");
  process.stdout.write(solc.compile(input, { import: resolveImport }));
} else {
  process.stderr.write("usage: solc-wasm --version | --standard-json\n");
  process.exit(2);
}
