/**
 * Writes every statechart of machines/ as JSON (XState's `machine.toJSON()`) to
 * visualizer/machines/<id>.json, plus an index.json, for Stately's tools and any other
 * consumer of XState definitions. Run with `npm run export-machines` (or
 * `npx tsx scripts/export-machines.ts [OUT_DIR]`); test/visualizer checks the files are current.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MACHINES, machineIndexJson, machineJson } from '../visualizer/export.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(process.argv[2] ?? join(root, 'visualizer', 'machines'));
await mkdir(outDir, { recursive: true });
for (const entry of MACHINES) {
  const file = join(outDir, `${entry.id}.json`);
  await writeFile(file, machineJson(entry));
  process.stdout.write(`${relative(process.cwd(), file)}  (${entry.file})\n`);
}
await writeFile(join(outDir, 'index.json'), machineIndexJson());
process.stdout.write(`${relative(process.cwd(), join(outDir, 'index.json'))}\n`);
