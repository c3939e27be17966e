/**
 * Once per `vitest run`: dist/ built from the current sources (test/support/build.ts), and one OpenSSH
 * server that the test files which only read through it share (`sharedSshd()`), instead of one each.
 * Files that stop, kill or reconfigure their server keep their own.
 */
import type { TestProject } from 'vitest/node';
import { ensureBuilt } from './build.js';
import { startSshd, type SharedSshdInfo } from './sshd.js';

declare module 'vitest' {
  export interface ProvidedContext {
    sshd: SharedSshdInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Child bots and CLIs run bin/badgateway.js, i.e. the compiled dist/: compile the sources under test first.
  ensureBuilt();
  // Its files read recorded evidence: the labs other files run at the same time must not be its host's processes.
  const { stop, ...info } = await startSshd({ ownPidNamespace: true });
  project.provide('sshd', info);
  return stop;
}
