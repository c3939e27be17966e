/**
 * The tests that spawn `bin/badgateway.js` run the shipped entry point, which runs the compiled dist/. So a
 * test run first brings dist/ up to date with src/ (`npm run build`, incremental), or they would test
 * yesterday's code.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './config.js';

const STAMP = join(REPO_ROOT, 'dist', '.tsbuildinfo');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Builds dist/ when it is missing or older than any file in src/ or the build config; returns whether it built. */
export function ensureBuilt(): boolean {
  const inputs = Math.max(newestSource(join(REPO_ROOT, 'src')), ...['tsconfig.json', 'tsconfig.build.json'].map((f) => statSync(join(REPO_ROOT, f)).mtimeMs));
  if (existsSync(join(REPO_ROOT, 'dist', 'cli', 'bin.js')) && existsSync(STAMP) && statSync(STAMP).mtimeMs >= inputs) return false;
  execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO_ROOT, 'tsconfig.build.json')], { cwd: REPO_ROOT, stdio: 'inherit' });
  // tsc leaves its build info alone when nothing changed: mark it as new as the newest input, so the next run
  // skips the build. Not "now": under faketime (`npm run test:clock`) that would be 400 days ahead.
  const stamp = Math.max(statSync(STAMP).mtimeMs, inputs) / 1000 + 0.001;
  utimesSync(STAMP, stamp, stamp);
  return true;
}
