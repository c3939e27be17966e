#!/usr/bin/env node
// Runs the JavaScript compiled at install (`npm install` runs `prepare`, i.e. `npm run build`, into dist/);
// stack traces point at the TypeScript sources through the emitted source maps. `npm run dev` runs the
// sources through tsx instead.
import { existsSync } from 'node:fs';

process.setSourceMapsEnabled(true);
const entry = new URL('../dist/cli/bin.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(`badgateway: not built (${entry.pathname} is missing): run \`npm install\` or \`npm run build\` in ${new URL('..', import.meta.url).pathname}\n`);
  process.exit(2);
}
await import(entry.href);
