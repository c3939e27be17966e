/** The `/502 reload|restart|audit` grammar, the button values of an approval, and config validation of actions. */
import { describe, expect, it } from 'vitest';
import { ActionService, approvalValue, displayArgv, parseApprovalValue } from '../../src/actions/index.js';
import { requestMessage, runsAs } from '../../src/actions/messages.js';
import { argvAsRun, remoteCommandLine } from '../../src/exec/index.js';
import type { Host } from '../../src/config/index.js';
import type { Approval } from '../../src/store/index.js';
import { loadCatalog } from '../../src/catalog/index.js';
import { defaultCatalogDir, loadConfig } from '../../src/config/index.js';
import { Inventory } from '../../src/inventory/index.js';
import { createLogger } from '../../src/log/index.js';
import { parseCommand } from '../../src/router/commands.js';
import { openStore } from '../../src/store/index.js';
import { writeConfig } from '../support/config.js';

const APPROVAL: Approval = {
  id: '0123456789abcdef',
  action: 'reload',
  host: 'web-03',
  commandId: 'fpm.reload',
  params: {},
  argv: ['systemctl', 'reload', 'php8.2-fpm'],
  requestedBy: 'U0ASKER',
  surface: 'slack',
  channel: 'C0ONCALL',
  reason: null,
  requestedAt: Date.UTC(2026, 2, 1, 14, 0),
  expiresAt: Date.UTC(2026, 2, 1, 14, 15),
  dryRun: false,
  state: 'pending',
  decidedBy: null,
  decidedAt: null,
  finishedAt: null,
  outcome: null,
  runner: null,
  leaseUntil: null,
  message: null,
};

describe('/502 reload, restart, audit', () => {
  it('parses a host, --dry-run and a free-text reason (stored and shown escaped, never run)', () => {
    expect(parseCommand('reload web-03')).toEqual({ name: 'reload', host: 'web-03', reason: null, dryRun: false });
    expect(parseCommand("reload web-03 pool stuck since the 14:02 deploy; see INC-42 (it's bad)")).toEqual({
      name: 'reload',
      host: 'web-03',
      reason: "pool stuck since the 14:02 deploy; see INC-42 (it's bad)",
      dryRun: false,
    });
    expect(parseCommand('restart web-03 --dry-run')).toEqual({ name: 'restart', host: 'web-03', reason: null, dryRun: true });
    expect(parseCommand('reload web-03 --dry-run workers stuck')).toMatchObject({ dryRun: true, reason: 'workers stuck' });
    expect(parseCommand('audit')).toEqual({ name: 'audit', host: null, all: false });
    expect(parseCommand('audit web-03')).toEqual({ name: 'audit', host: 'web-03', all: false });
    expect(parseCommand('audit --all web-03')).toEqual({ name: 'audit', host: 'web-03', all: true });
  });

  it('keeps the host strict and refuses what it cannot use', () => {
    expect(() => parseCommand('reload')).toThrow(/`reload` needs a host/);
    expect(() => parseCommand('reload web-03;id')).toThrow(/contains ";"/);
    expect(() => parseCommand('reload $(id)')).toThrow(/not allowed/);
    expect(() => parseCommand('reload web-03 --force')).toThrow(/Unknown option "--force": `reload` takes only --dry-run/);
    expect(() => parseCommand(`reload web-03 ${'x'.repeat(301)}`)).toThrow(/longer than 300 characters/);
    expect(() => parseCommand('audit web-03 web-04')).toThrow(/at most one host/);
    expect(() => parseCommand('reloda web-03')).toThrow(/Did you mean `reload`\?/);
  });

  it('an Approve/Deny button carries only the approval id', () => {
    expect(parseApprovalValue(approvalValue('0123456789abcdef'))).toBe('0123456789abcdef');
    for (const forged of ['a=x', 'r=abc;h=web-03', 'a=0123456789abcdef;rm', 42, null]) expect(parseApprovalValue(forged)).toBeNull();
  });

  it('shows a fixed script by catalog id and digest, a plain argv as the shell would read it', () => {
    expect(displayArgv(['systemctl', 'reload', 'php8.2-fpm.service'], 'fpm.reload')).toBe('systemctl reload php8.2-fpm.service');
    expect(displayArgv(['sh', '-c', 'set -f\nkill -USR2 "$1"\n', 'fpm-reload-signal', '1234'], 'fpm.reload-signal')).toMatch(
      /^sh -c '<fixed script of fpm\.reload-signal, 2 lines, sha256 [0-9a-f]{12}…>' fpm-reload-signal 1234$/,
    );
  });

  it('names the real command path: sudo -n for a login that is not root, none for root (the executors decide the same way)', () => {
    const reload = { argv: ['systemctl', 'reload', 'php8.2-fpm'], sudo: true };
    const ssh = (user: string) => ({ transport: 'ssh' as const, ssh: { user } as Host['ssh'] });
    expect(argvAsRun(ssh('deploy'), reload)).toEqual(['sudo', '-n', '--', 'systemctl', 'reload', 'php8.2-fpm']);
    expect(argvAsRun(ssh('root'), reload)).toEqual(['systemctl', 'reload', 'php8.2-fpm']);
    expect(argvAsRun({ transport: 'local', ssh: { user: 'deploy' } as Host['ssh'] }, reload, 0)).toEqual(reload.argv);
    expect(argvAsRun({ transport: 'local', ssh: { user: 'root' } as Host['ssh'] }, reload, 1000)[0]).toBe('sudo');
    // What the SSH executor sends is built by the same rule.
    const rendered = { id: 'fpm.reload', ...reload, timeoutMs: 60_000, maxOutputBytes: 1024, mutating: true };
    expect(remoteCommandLine(rendered, 'deploy')).toContain('badgateway 60 sudo -n -- systemctl reload php8.2-fpm');
    expect(remoteCommandLine(rendered, 'root')).toContain('badgateway 60 systemctl reload php8.2-fpm');

    const script = ['sudo', '-n', '--', 'sh', '-c', 'set -f\nkill -USR2 "$1"\n', 'fpm-reload-signal', '1234'];
    expect(displayArgv(script, 'fpm.reload-signal')).toMatch(/^sudo -n -- sh -c '<fixed script of fpm\.reload-signal, 2 lines, sha256 [0-9a-f]{12}…>' fpm-reload-signal 1234$/);
    expect(runsAs(script, 'deploy')).toBe('as deploy, through sudo -n');
    expect(runsAs(reload.argv, 'root')).toBe('as root, no sudo');
    const message = JSON.stringify(
      requestMessage(
        { ...APPROVAL, argv: ['sudo', '-n', '--', 'systemctl', 'reload', 'php8.2-fpm'] },
        { approvers: { users: [], group: null }, verify: [], notes: [], user: 'deploy', now: APPROVAL.requestedAt },
      ),
    );
    expect(message).toContain('as deploy, through sudo -n');
    expect(message).toContain('sudo -n -- systemctl reload php8.2-fpm');
    const asRoot = JSON.stringify(requestMessage(APPROVAL, { approvers: { users: [], group: null }, verify: [], notes: [], user: 'root', now: APPROVAL.requestedAt }));
    expect(asRoot).toContain('as root, no sudo');
    expect(asRoot).not.toContain('sudo -n');
  });

  it('refuses at start an action that names an unknown or read-only catalog command', async () => {
    const config = loadConfig({
      path: writeConfig({
        catalog: defaultCatalogDir(),
        actions: { restart: 'fpm.restart' },
        hosts: { 'web-01': { actions: { reload: 'fpm.status' } }, 'web-02': { actions: { reload: 'fpm.nope' } }, 'web-03': {} },
      }),
      env: {},
    });
    expect(config.hosts.find((h) => h.name === 'web-01')?.actions).toEqual({ restart: 'fpm.restart', reload: 'fpm.status' });
    const store = await openStore({ dataDir: 'memory://' });
    try {
      const make = () =>
        new ActionService({
          config,
          inventory: new Inventory(config.hosts),
          catalog: loadCatalog(config.catalogDir),
          executor: { run: () => Promise.reject(new Error('no')), close: async () => {} },
          store,
          logger: createLogger({ level: 'silent' }),
        });
      expect(make).toThrow(/hosts\.web-01\.actions\.reload: fpm\.status is not a mutating catalog command\n {2}hosts\.web-02\.actions\.reload: "fpm\.nope" is not in the command catalog/);
    } finally {
      await store.close();
    }
    expect(() => loadConfig({ path: writeConfig({ approvals: { expiry: 'soon' }, hosts: { 'web-01': { actions: { reboot: 'x.y' } } } }), env: {} })).toThrow(
      /hosts\.web-01\.actions: unknown setting "reboot"\n {2}approvals\.expiry: expected a duration/,
    );
  }, 120_000);
});
