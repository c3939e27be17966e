import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts'],
    // Most files wait on real daemons (sshd, nginx, PHP-FPM, child bots) rather than compute, so more
    // files than cores run at once; vitest's default (cores - 1) leaves one file running on 2 cores, and more
    // than 3 starves the bots a second suite beside this one starts.
    maxWorkers: 3,
    // Waits in tests are for real daemons and bots, which a machine busy with a second suite slows down:
    // the limits are generous because a passing test never reaches them.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    globalSetup: ['./test/support/global-setup.ts'],
    reporters: ['default', './test/support/slowest-files.ts'],
  },
});
