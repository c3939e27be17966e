/**
 * The slash-command table is the one definition of `/502`: the router dispatches through it, help and
 * usage errors print from it, and manifest.yml must list every subcommand.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { Inventory } from '../../src/inventory/index.js';
import { createLogger } from '../../src/log/index.js';
import type { Message } from '../../src/report/message.js';
import { SLASH_COMMANDS, parseCommand, slashCommand, usageLine } from '../../src/router/commands.js';
import { createRouter } from '../../src/router/router.js';
import { REPO_ROOT, writeConfig } from '../support/config.js';

const config = loadConfig({ path: writeConfig({ hosts: { 'web-03': { address: '10.0.0.3', groups: ['web'] } } }), env: {} });
const router = createRouter({
  services: { config, inventory: new Inventory(config.hosts), triage: async () => Promise.reject(new Error('not in this test')) },
  logger: createLogger({ level: 'silent' }),
});

function text(m: Message): string {
  return m.blocks.map((b) => ('text' in b ? b.text : '')).join('\n');
}

const console_ = (t: string) => ({ surface: 'console' as const, text: t, user: 'root', channel: 'console' });

describe('the slash-command table', () => {
  it('names every subcommand once, each with a usage, a summary and a permission', () => {
    const names = SLASH_COMMANDS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(['triage', 'logs', 'fpm', 'slowlog', 'hosts', 'reload', 'restart', 'audit', 'runbook', 'timeline', 'digest', 'help']);
    for (const c of SLASH_COMMANDS) {
      expect(c.usage.split(' ')[0]).toBe(c.name);
      expect(c.summary.length).toBeGreaterThan(5);
      expect(['read', 'mutate']).toContain(c.permission);
    }
  });

  it('manifest.yml lists every subcommand in the /502 usage hint', () => {
    const manifest = parse(readFileSync(join(REPO_ROOT, 'manifest.yml'), 'utf8')) as { features: { slash_commands: Array<{ command: string; usage_hint: string }> } };
    const slash = manifest.features.slash_commands.find((c) => c.command === '/502')!;
    const words = new Set(slash.usage_hint.split(/[\s|]+/));
    const missing = SLASH_COMMANDS.map((c) => c.name).filter((n) => !words.has(n));
    expect(missing, `add these to manifest.yml's usage_hint: ${missing.join(', ')}`).toEqual([]);
  });

  it('/502 help prints every usage line of the table', () => {
    const plan = router.plan(console_('help'));
    expect(plan).toMatchObject({ kind: 'reply', reason: 'help' });
    const help = plan.kind === 'reply' ? text(plan.message) : '';
    for (const c of SLASH_COMMANDS) expect(help).toContain(usageLine(c));
  });

  it('a usage error shows what was wrong and the one usage line of that command, not the whole help', () => {
    const plan = router.plan(console_('reload'));
    expect(plan.kind).toBe('reply');
    const said = plan.kind === 'reply' ? text(plan.message) : '';
    expect(said).toContain('`reload` needs a host.');
    expect(said).toContain('Usage: `/502 reload HOST [--dry-run] [reason]`');
    expect(said).not.toContain('/502 triage TARGET');
    expect(said.split('\n')).toHaveLength(2);
  });

  it('an unknown subcommand suggests the nearest one and points at help; a host name suggests its triage', () => {
    const typo = router.plan(console_('triag web-03'));
    const said = typo.kind === 'reply' ? text(typo.message) : '';
    expect(said).toContain('Unknown subcommand "triag". Did you mean `triage`?');
    expect(said).toContain('Type `/502 help` for the commands.');
    const host = router.plan(console_('web-03'));
    expect(host.kind === 'reply' ? text(host.message) : '').toContain('Did you mean `/502 triage web-03`?');
  });

  it('finds entries by name or alias, in any case', () => {
    expect(slashCommand('TRIAGE')?.name).toBe('triage');
    expect(slashCommand('--help')?.name).toBe('help');
    expect(slashCommand('deploy')).toBeUndefined();
    expect(parseCommand('-h')).toEqual({ name: 'help' });
  });
});
