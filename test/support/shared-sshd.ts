/** The OpenSSH server test/support/global-setup.ts started for the whole run (a worker-side import). */
import { inject } from 'vitest';
import type { TestSshd } from './sshd.js';

/** For files that only connect and read; its stop() leaves it running for the others. */
export function sharedSshd(): TestSshd {
  return { ...inject('sshd'), stop: async () => undefined };
}
