// Checks the built transform module: a WASI command (`_start`) whose imports are only the
// broker's `redpanda_transform` ABI and WASI preview 1.
import { readFileSync } from 'node:fs';

const path = process.argv[2];
const module = new WebAssembly.Module(readFileSync(path));
const imports = WebAssembly.Module.imports(module);
const exports = WebAssembly.Module.exports(module).map((e) => e.name);
const allowed = new Set(['redpanda_transform', 'wasi_snapshot_preview1']);
const foreign = imports.filter((i) => !allowed.has(i.module));
const abi = imports.filter((i) => i.module === 'redpanda_transform').map((i) => i.name).sort();
const problems = [];
if (foreign.length) problems.push(`unexpected imports: ${foreign.map((i) => `${i.module}.${i.name}`).join(', ')}`);
for (const name of ['check_abi_version_2', 'read_batch_header', 'read_next_record', 'write_record']) {
  if (!abi.includes(name)) problems.push(`missing import redpanda_transform.${name}`);
}
if (!exports.includes('_start')) problems.push('no _start export: not a WASI command');
if (!exports.includes('memory')) problems.push('no memory export');
if (problems.length) {
  console.error(`${path}: ${problems.join('; ')}`);
  process.exit(1);
}
console.log(`${path}: ok (${readFileSync(path).length} bytes; redpanda_transform: ${abi.join(', ')})`);
