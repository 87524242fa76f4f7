// Hardhat 3 configuration. The compiler is the npm `solc` package (WebAssembly), so building
// never downloads a compiler: see ../shared/TOOLCHAIN.md. backend/ledger/chain/compiler.py
// compiles with the very same version and settings through py-solc-x (a test compares bytecode).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { defineConfig } from "hardhat/config";

const require = createRequire(import.meta.url);
const settings = JSON.parse(readFileSync(new URL("./contracts/solc-settings.json", import.meta.url)));

export default defineConfig({
  solidity: {
    version: settings.version,
    path: require.resolve("solc/soljson.js"),
    settings: settings.settings,
  },
  paths: {
    sources: "./contracts",
    tests: { solidity: "./contracts/test" },
  },
});
