/**
 * The package's entry points (`exports` in package.json) point at modules that exist and export
 * what the README's examples use. The build maps src/… and visualizer/… to dist/… one to one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, string | { types: string; default: string }> };

/** The source file a dist/ target is compiled from. */
const sourceOf = (target: string) => join(root, target.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts'));

const expected: Record<string, readonly string[]> = {
  '.': ['createRegistry', 'connectLifecycle', 'loadCredentials', 'registryMachine', 'lifecycleConnectionMachine', 'reconcileMachine', 'ChangeBufferSize'],
  './sim': ['startSimExchange', 'SimExchangeOptionsSchema'],
  './visualizer': ['startVisualizer', 'createActorTracker', 'MACHINES'],
};

describe('package exports', () => {
  for (const [entry, names] of Object.entries(expected)) {
    it(`${entry} resolves to a module exporting ${names.join(', ')}`, async () => {
      const target = pkg.exports[entry];
      expect(target, entry).toBeDefined();
      if (typeof target !== 'object') throw new Error(`${entry}: expected { types, default }`);
      expect(target.types.replace(/\.d\.ts$/, '.js')).toBe(target.default);
      const source = sourceOf(target.default);
      expect(existsSync(source), source).toBe(true);
      const mod = (await import(source)) as Record<string, unknown>;
      for (const name of names) expect(mod[name], `${entry} → ${name}`).toBeDefined();
    });
  }
});
