/**
 * Runbook files: the shipped ones load against the shipped catalog and cover every cause; a broken
 * file is refused at start with its file, the line and the reason; conditions and the Markdown
 * rendering behave as documented.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/index.js';
import { defaultCatalogDir, defaultRunbooksDir } from '../../src/config/index.js';
import { CAUSE_IDS } from '../../src/diagnose/types.js';
import { ConfigError } from '../../src/errors.js';
import { loadRunbooks, parseRunbook, type Condition } from '../../src/runbook/format.js';
import { fillPlaceholders, markdownToMrkdwn } from '../../src/runbook/render.js';
import { evaluate, type CheckResult } from '../../src/runbook/session.js';

const catalog = loadCatalog(defaultCatalogDir());

function problemsOf(text: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'badgateway-runbooks-'));
  writeFileSync(join(dir, 'broken.md'), text);
  try {
    loadRunbooks(dir, catalog);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('the runbook loaded');
}

const HEAD = '---\ntitle: Test\n---\n';

describe('the shipped runbooks', () => {
  const runbooks = loadRunbooks(defaultRunbooksDir(), catalog);
  const triage = runbooks.get('502-triage')!;

  it('load and validate against the shipped catalog', () => {
    expect(triage.title).toMatch(/502\/504 triage/);
    expect(triage.steps.length).toBeGreaterThanOrEqual(10);
    expect(triage.steps.map((s) => s.id)).toEqual(expect.arrayContaining(['observe', 'errors', 'pool', 'slowlog', 'verify', 'prevent-timeouts']));
  });

  it('branch for every cause the diagnosis can name', () => {
    const covered = new Set<string>();
    const walk = (c: Condition | null | undefined) => {
      if (!c) return;
      for (const id of [...(c.cause ?? []), ...(c.anyCause ?? [])]) covered.add(id);
      [...(c.all ?? []), ...(c.any ?? [])].forEach(walk);
      walk(c.not);
    };
    triage.steps.forEach((s) => walk(s.when));
    expect([...CAUSE_IDS].filter((id) => !covered.has(id))).toEqual([]);
    // The fixes that need a change on the host go through the approval flow.
    expect(triage.steps.filter((s) => s.action).map((s) => `${s.id}:${s.action}`)).toEqual(
      expect.arrayContaining(['fix-pool:reload', 'fix-read-timeout:reload', 'fix-terminate:reload', 'fix-start:restart']),
    );
  });
});

describe('a malformed runbook is refused with file, line and reason', () => {
  it('bad YAML inside a step block', () => {
    const problems = problemsOf(`${HEAD}\n## Look\n\n\`\`\`yaml step\ncheck: { view: access\n\`\`\`\n\nText.\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/broken\.md:8: step "Look": /);
  });

  it('an unknown cause id, on the line of the list item', () => {
    const problems = problemsOf(`${HEAD}\n## Fix it\n\n\`\`\`yaml step\nwhen:\n  cause:\n    - pool_exhausted\n    - pool_exausted\n\`\`\`\n\nText.\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^.*broken\.md:11: step "Fix it": when\.cause\.1: .*pool_exhausted/);
  });

  it('an unknown key, a mutating check, a condition on a later step and an unknown placeholder', () => {
    const text = [
      HEAD.trimEnd(), // lines 1-3
      '',
      '## One', // 5
      '',
      '```yaml step',
      'check: { command: fpm.reload }', // 8
      'when: { check: { step: two, ok: true } }', // 9
      '```',
      '',
      'Run {{hots}} now.', // 12
      '',
      '## Two',
      '```yaml step',
      'id: two',
      'check: { view: fpm }',
      '```',
      '',
      '## Three', // 20
      '```yaml step',
      'check: { view: fpm }',
      'chek: { view: fpm }', // 23
      '```',
      'Text.',
      '',
    ].join('\n');
    const problems = problemsOf(text);
    expect(problems).toEqual([
      expect.stringMatching(/broken\.md:8: step "One": check\.command "fpm\.reload" changes the host: a check may only read/),
      expect.stringMatching(/broken\.md:9: step "One": when\.check\.step "two" is not an earlier step/),
      expect.stringMatching(/broken\.md:12: step "One": unknown placeholder \{\{hots\}\}/),
      expect.stringMatching(/broken\.md:23: step "Three": unknown key "chek"/),
    ]);
  });

  it('no front matter, a catalog command with a bad parameter, and a block not under its heading', () => {
    expect(problemsOf('## Step\n\nText.\n')[0]).toMatch(/broken\.md:1: a runbook starts with YAML front matter/);
    const problems = problemsOf(`${HEAD}## Tail\n\`\`\`yaml step\ncheck: { command: log.tail, params: { source: accessLog, lines: 0 } }\n\`\`\`\nText.\n\n\`\`\`yaml step\nid: late\n\`\`\`\n`);
    expect(problems).toEqual([
      expect.stringMatching(/broken\.md:6: step "Tail": check\.command "log\.tail": lines must be a whole number from 1/),
      expect.stringMatching(/broken\.md:10: step "Tail": a ```yaml step block must come right under the heading/),
    ]);
  });

  it('parseRunbook alone says the same (one file)', () => {
    expect(() => parseRunbook(`${HEAD}## A\n\`\`\`yaml step\naction: reboot\n\`\`\`\n`, 'x.md')).toThrow(/x\.md is invalid: line 6: step "A": action: .*reload.*restart/);
  });
});

describe('conditions', () => {
  const check = (output: string, ok = true): CheckResult => ({ kind: 'command', label: 'x', ok, summary: '', output, command: null, exitCode: 0, at: 0, ms: 0 });
  const facts = (causes: Array<[string, number]>, checks: Record<string, CheckResult> = {}) => ({
    causes: causes.map(([id, confidence]) => ({ id: id as never, confidence })),
    checks: new Map(Object.entries(checks)),
  });

  it('top cause, confidence, any cause, and earlier check output', () => {
    const pool = facts(
      [
        ['pool_exhausted', 0.98],
        ['fastcgi_read_timeout', 0.49],
      ],
      { ss: check('u_str LISTEN 3 2 /run/php/fpm.sock') },
    );
    expect(evaluate({ cause: ['pool_exhausted'] }, pool).holds).toBe(true);
    expect(evaluate({ cause: ['fastcgi_read_timeout'] }, pool)).toMatchObject({ holds: false, because: expect.stringContaining('top cause pool_exhausted (98%)') });
    expect(evaluate({ anyCause: ['fastcgi_read_timeout'], minConfidence: 0.4 }, pool).holds).toBe(true);
    expect(evaluate({ anyCause: ['fastcgi_read_timeout'], minConfidence: 0.5 }, pool).holds).toBe(false);
    expect(evaluate({ cause: ['pool_exhausted'], minConfidence: 0.99 }, pool).holds).toBe(false);
    expect(evaluate({ check: { step: 'ss', matches: 'LISTEN\\s+3\\s+2' } }, pool).holds).toBe(true);
    expect(evaluate({ check: { step: 'ss', notMatches: 'fpm\\.sock' } }, pool).holds).toBe(false);
    expect(evaluate({ check: { step: 'gone', ok: true } }, pool)).toMatchObject({ holds: false, because: expect.stringContaining('no check result') });
    expect(evaluate({ any: [{ cause: ['healthy'] }, { not: { minConfidence: 0.5 } }] }, facts([])).holds).toBe(true);
    expect(evaluate({ any: [{ cause: ['healthy'] }, { not: { minConfidence: 0.5 } }] }, pool).holds).toBe(false);
  });
});

describe('guidance rendering', () => {
  it('fills placeholders, with fallbacks, and turns Markdown into mrkdwn that cannot ping', () => {
    expect(fillPlaceholders('tail {{fpmLog|/var/log/php8.2-fpm.log}} on {{host}} ({{pool}})', { host: 'web-03' })).toBe('tail /var/log/php8.2-fpm.log on web-03 (<pool>)');
    const out = markdownToMrkdwn('### Do this\n\n- **now**: run `ss -lx | grep php` <!channel>\n\n| a | b |\n|---|---|\n| x | y |\n\n    indented code\n\n[docs](https://nginx.org/)');
    expect(out).toContain('*Do this*');
    expect(out).toContain('• *now*: run `ss -lx | grep php` &lt;!channel&gt;');
    expect(out).toContain('*a · b*\n• x — y');
    expect(out).toContain('```indented code```');
    expect(out).toContain('<https://nginx.org/|docs>');
  });
});

describe('the /502 runbook and /502 timeline grammar', () => {
  it('parses a host, --since and --runbook; a timeline takes an optional session id', async () => {
    const { parseCommand } = await import('../../src/router/commands.js');
    expect(parseCommand('runbook web-03')).toEqual({ name: 'runbook', target: 'web-03', sinceMs: 15 * 60_000, until: null });
    expect(parseCommand('runbook web-03 --since 30m --runbook 502-triage')).toEqual({ name: 'runbook', target: 'web-03', sinceMs: 30 * 60_000, until: null, runbook: '502-triage' });
    expect(parseCommand('timeline')).toEqual({ name: 'timeline', session: null });
    expect(parseCommand('timeline 97430e8a18')).toEqual({ name: 'timeline', session: '97430e8a18' });
    expect(() => parseCommand('runbook')).toThrow(/`runbook` needs a host/);
    expect(() => parseCommand('runbook web-03 --runbook')).toThrow(/--runbook needs a runbook id/);
    expect(() => parseCommand('runbook web-03 --fast')).toThrow(/takes only --since, --until and --runbook/);
    expect(() => parseCommand('timeline web-03')).toThrow(/takes at most a session id/);
  });
});

describe('what the shipped runbook shows a responder', () => {
  const runbook = loadRunbooks(defaultRunbooksDir(), catalog).get('502-triage')!;
  const texts = [runbook.intro, ...runbook.steps.map((s) => s.guidance)];

  it("shows no note meant for the runbook's author (<!-- comments --> are dropped)", () => {
    expect(runbook.intro).not.toMatch(/author|yaml step|placeholder|<!--/);
    expect(texts.join('\n')).not.toContain('<!--');
    // Dropping a comment keeps the line numbers of what follows (problems name the right line).
    expect(() => parseRunbook('---\ntitle: T\n---\n<!--\nnote\n-->\n## A\n```yaml step\naction: reboot\n```\n', 'x.md', catalog)).toThrow(/line 9: /);
  });

  it("names no PHP version or path as the host's when the triage did not find it; names the one it found", () => {
    const unknown = texts.map((t) => fillPlaceholders(t, {})).join('\n');
    expect(unknown).not.toMatch(/8\.2|php-fpm8|\/run\/php\/php/);
    const down = runbook.steps.find((s) => s.id === 'fix-start')!;
    expect(fillPlaceholders(down.guidance, { fpmBinary: '/usr/sbin/php-fpm8.3', fpmService: 'php8.3-fpm' })).toContain('sudo /usr/sbin/php-fpm8.3 -t\nsudo systemctl start php8.3-fpm');
    expect(fillPlaceholders(down.guidance, {})).toContain("sudo php-fpm -t\nsudo systemctl start 'php*-fpm'");
  });
});
