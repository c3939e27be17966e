/** Builds real config files and catalogs for tests (no hand-made objects: they go through the loader). */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

/** A catalog folder holding the shipped commands plus the test-only ones. */
export function testCatalogDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'badgateway-catalog-'));
  for (const source of [join(REPO_ROOT, 'commands'), join(REPO_ROOT, 'test', 'fixtures', 'catalog')]) {
    for (const file of readdirSync(source)) copyFileSync(join(source, file), join(dir, file));
  }
  return dir;
}

export function writeConfig(config: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'badgateway-config-'));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'badgateway.yaml');
  writeFileSync(file, typeof config === 'string' ? config : stringify(config));
  return file;
}
