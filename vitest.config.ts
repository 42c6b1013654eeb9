import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests open real sockets on 127.0.0.1 and spawn CLI processes; each file in a
    // process of its own.
    pool: 'forks',
    // Vitest's default is one worker fewer than the cores: a single worker on a 2-core machine,
    // which ran the whole suite file after file (~155 s). Most files wait on sockets, child
    // processes and timers rather than compute, so two or more workers overlap those waits even
    // on 2 cores; the longest file (test/integration/cli-process.test.ts) is scheduled first.
    maxWorkers: Math.max(2, availableParallelism()),
    reporters: ['default'],
  },
});
