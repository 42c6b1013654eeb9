import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests open real sockets on 127.0.0.1; keep files isolated but bounded.
    pool: 'forks',
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
