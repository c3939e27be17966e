/**
 * Catalog ids named outside the catalog: every id-like string in src/ is a shipped catalog command and
 * is in CODE_COMMAND_IDS (which the start checks against the loaded catalog); a typo in the config,
 * a catalog's verify list or a runbook fails the start with one line per problem and a did-you-mean.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CODE_COMMAND_IDS, catalogUseProblems, loadCatalog } from '../../src/catalog/index.js';
import { defaultCatalogDir, loadConfig } from '../../src/config/index.js';
import { parseRunbook } from '../../src/runbook/format.js';
import { REPO_ROOT, testCatalogDir, writeConfig } from '../support/config.js';

const BIN = join(REPO_ROOT, 'bin', 'badgateway.js');
/** Dotted strings in src/ that look like catalog ids but name something else. */
const NOT_IDS = new Set(['fpm.log']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('catalog ids used outside the catalog', () => {
  it('every catalog id quoted in src/ is a shipped command and listed in CODE_COMMAND_IDS', () => {
    const shipped = loadCatalog(defaultCatalogDir());
    const namespaces = new Set(shipped.list().map((c) => c.id.split('.')[0]!));
    const found = new Map<string, string>();
    for (const file of sourceFiles(join(REPO_ROOT, 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/'([a-z0-9-]+(?:\.[a-z0-9-]+)+)'/g)) {
        if (namespaces.has(m[1]!.split('.')[0]!) && !NOT_IDS.has(m[1]!)) found.set(m[1]!, file.slice(REPO_ROOT.length + 1));
      }
    }
    expect(found.size).toBeGreaterThan(10);
    const unknown = [...found].filter(([id]) => !shipped.get(id)).map(([id, file]) => `${file}: ${id}`);
    expect(unknown, 'ids in src/ that the catalog does not have').toEqual([]);
    const unlisted = [...found.keys()].filter((id) => !(CODE_COMMAND_IDS as readonly string[]).includes(id));
    expect(unlisted, 'add these to CODE_COMMAND_IDS (src/catalog/uses.ts)').toEqual([]);
    expect(catalogUseProblems(shipped, loadConfig({ path: writeConfig({ hosts: { 'web-03': {} } }), env: {} }))).toEqual([]);
  });

  it('a typo in the config or in a catalog verify list is a problem with a did-you-mean', () => {
    const dir = testCatalogDir();
    const fpm = join(dir, 'fpm.yaml');
    writeFileSync(fpm, readFileSync(fpm, 'utf8').replace(/verify: \[fpm\.service-state/, 'verify: [fpm.servce-state'));
    rmSync(join(dir, 'logs.yaml'));
    const config = loadConfig({ path: writeConfig({ catalog: dir, hosts: { 'web-03': { actions: { reload: 'fpm.relod' } } } }), env: {} });
    const problems = catalogUseProblems(loadCatalog(dir), config);
    expect(problems).toContain('hosts.web-03.actions.reload: "fpm.relod" is not in the command catalog. Did you mean fpm.reload?');
    expect(problems).toContain('fpm.reload.verify: "fpm.servce-state" is not in the command catalog. Did you mean fpm.service-state?');
    expect(problems.find((p) => p.startsWith('badgateway runs log.stat'))).toMatch(/lacks: "log\.stat" is not in the command catalog\. \(copy it from the shipped commands\/\*\.yaml\)$/);
  });

  it('badgateway refuses to start with a misspelled action: exit 2, one line, the did-you-mean', () => {
    const file = writeConfig({ catalog: testCatalogDir(), actions: { restart: 'fpm.restrat' }, hosts: { 'web-03': {} } });
    const run = spawnSync(process.execPath, [BIN, 'start', '--config', file], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: '', BADGATEWAY_DATA_DIR: 'memory://' }, timeout: 30_000 });
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`badgateway: ${file} is invalid: hosts.web-03.actions.restart: "fpm.restrat" is not in the command catalog. Did you mean fpm.restart?\n`);
  });

  it('a runbook check naming a misspelled id says which one it meant', () => {
    const text = '---\nid: t\ntitle: T\n---\n## Look\n```yaml step\nid: look\ncheck: { command: host.uptim }\n```\nLook.\n';
    expect(() => parseRunbook(text, 't.md', loadCatalog(defaultCatalogDir()))).toThrow(/"host\.uptim" is not in the command catalog\. Did you mean host\.uptime\?/);
  });
});
