// Compile contracts/*.sol with solc-js (standard JSON) and print {Name: {abi, bytecode}} as JSON.
// Usage: node compile.js <path/to/solc/solc.js-module-dir-or-file> <contracts dir>
const fs = require('fs');
const path = require('path');
const solc = require(path.dirname(process.argv[2]) + '/index.js');
const dir = process.argv[3];
const sources = {};
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.sol')).sort()) {
  sources[file] = { content: fs.readFileSync(path.join(dir, file), 'utf8') };
}
const input = {
  language: 'Solidity',
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'cancun',
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === 'error');
if (errors.length) {
  for (const e of errors) process.stderr.write(e.formattedMessage + '\n');
  process.exit(1);
}
const result = {};
for (const file of Object.keys(output.contracts)) {
  for (const [name, c] of Object.entries(output.contracts[file])) {
    result[name] = { abi: c.abi, bytecode: '0x' + c.evm.bytecode.object };
  }
}
process.stdout.write(JSON.stringify(result));
