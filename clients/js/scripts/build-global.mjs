// Generates the classic-script build (relay-client.global.js, window.RelayClient) from the ES module,
// (the gateway embeds that file as a resource for its demo widget).
// No bundler: the module has no imports, so wrapping it in a function and turning `export` into
// assignments is enough. `node scripts/build-global.mjs --check` fails when the outputs are stale.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const src = readFileSync(join(root, 'relay-client.js'), 'utf8');

export function buildGlobal(source) {
  const names = [];
  let body = source
    .replace(/^export default [^;]+;\s*$/m, '')
    .replace(/^export (const|function|class) (\w+)/gm, (_, kind, name) => { names.push(name); return `${kind} ${name}`; });
  if (/^\s*(import|export)\b/m.test(body)) throw new Error('relay-client.js has an import/export the wrapper does not handle');
  return `// GENERATED from relay-client.js by scripts/build-global.mjs — do not edit.
// Classic script: <script src="relay-client.global.js"></script> then new RelayClient({...}) (also RelayClient.States, .CloseCodes).
(function (global) {
'use strict';
${body.trim()}

RelayClient.RelayClient = RelayClient;
${names.filter(n => n !== 'RelayClient').map(n => `RelayClient.${n} = ${n};`).join('\n')}
global.RelayClient = RelayClient;
})(typeof globalThis !== 'undefined' ? globalThis : this);
`;
}

const outputs = [
  [join(root, 'relay-client.global.js'), buildGlobal(src)],
];

const check = process.argv.includes('--check');
let stale = 0;
for (const [path, text] of outputs) {
  const current = existsSync(path) ? readFileSync(path, 'utf8') : null;
  if (current === text) continue;
  if (check) { console.error(`stale: ${path} (run: node clients/js/scripts/build-global.mjs)`); stale++; }
  else { writeFileSync(path, text); console.log(`wrote ${path}`); }
}
if (stale) process.exit(1);
