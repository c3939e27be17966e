import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts'],
    // Most files wait on real daemons (sshd, nginx, PHP-FPM, child bots) rather than compute, so more
    // files than cores run at once; vitest's default (cores - 1) leaves one file running on 2 cores.
    maxWorkers: 4,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ['./test/support/global-setup.ts'],
    reporters: ['default', './test/support/slowest-files.ts'],
  },
});
