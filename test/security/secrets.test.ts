/**
 * No secret from a log reaches a reader. A real lab host (nginx + PHP-FPM behind a real sshd) has
 * its logs seeded with credentials in the shapes the scrubber corpus covers, each line with a marker;
 * then the same triage is read everywhere a person can see it: the Slack messages and evidence file
 * (real Bolt app, Web API stand-in), the console (a real `badgateway start` process, with a runbook's
 * timeline file), and the CLI (text and --json). Every marker that proves the line was shown is
 * there; no secret is; no terminal escape sequence reaches a terminal.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalogDir } from '../../src/config/index.js';
import { REPO_ROOT, writeConfig } from '../support/config.js';
import { consoleEnv, spawnConsole } from '../support/console-process.js';
import { hostConfig, startLabHost, type LabHost } from '../support/lab-host.js';
import { startHttpBot, type HttpBot } from '../support/slack-bot.js';
import { actionBody, clickPayload, post, sign, slashBody, startSlackStub, type SlackStub } from '../slack/stub.js';

const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkJvYiJ9.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const PEM = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKjMzEfYyjiWA4R4';

/** Every credential seeded below; none may reach a reader. */
const SECRETS = [
  'QueryPass8',
  'ApiKeyVal10',
  'RefPw-991',
  'PdoSecret29',
  'JsonPw32',
  'ApiKeyHdr35',
  'ZnJhbms6QmFzaWNQdzE3',
  'CookieSess24',
  'BareCk26b',
  JWT.split('.')[2]!,
  'AKIAZZZZZZZZ37EXAMPL',
  'AIzaSyD-GcpKey38abcdefghijklmnopqrstuvw',
  'PgDsnPw1',
  PEM,
  'cHJveHk6UHJveHlQdzE5',
  'FormPw14',
  'EnvPw41',
  'BareTok23xYz',
  'MysqliPw30',
  'XAmzSig13abc',
];

const SECRET_RE = new RegExp(SECRETS.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'));

function leaks(text: string): string[] {
  return SECRETS.filter((s) => text.includes(s));
}

const BIN = join(REPO_ROOT, 'bin', 'badgateway.js');
const SLACK_SECRET = 'secrets-signing-secret';
const CHANNEL = 'C0SECRETS';

let labHost: LabHost;
let stub: SlackStub;
let app: HttpBot;
let url: string;

/** Appends lines the way nginx and PHP-FPM write them, stamped like their newest line (the host's clock and zone). */
function seed(lab: LabHost['lab']): void {
  const errorText = readFileSync(lab.paths.error, 'utf8');
  const errStamp = [...errorText.matchAll(/^(\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d) \[/gm)].pop()![1]!;
  const fpmText = readFileSync(lab.paths.fpmLog, 'utf8');
  const fpmStamp = [...fpmText.matchAll(/^\[(\d\d-\w{3}-\d{4} \d\d:\d\d:\d\d)\]/gm)].pop()![1]!;
  const tail = ', client: 10.0.0.7, server: lab.local, request: "POST /login HTTP/1.1", upstream: "fastcgi://127.0.0.1:9000", host: "lab.local"';
  const stderr = (n: number, message: string) => `${errStamp} [error] 12#12: *90${n} FastCGI sent in stderr: "PHP message: ${message}" while reading response header from upstream${tail}`;
  const errors = [
    `${errStamp} [error] 12#12: *901 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.0.0.7, server: lab.local, request: "GET /api/login?user=root&pass=QueryPass8&api_key=ApiKeyVal10&X-Amz-Signature=XAmzSig13abc HTTP/1.1", upstream: "fastcgi://127.0.0.1:9000", host: "lab.local", referrer: "https://alice:RefPw-991@shop.example.com/MARK-E1"`,
    stderr(2, "PHP Fatal error:  Uncaught PDOException: Access denied MARK-E2 #0 /var/www/app/Db.php(12): PDO->__construct('mysql:host=db;d...', 'shop', 'PdoSecret29') #1 {main}"),
    stderr(3, 'MARK-E3 login body {"user":"hank","password":"JsonPw32"} X-Api-Key: ApiKeyHdr35 Authorization: Basic ZnJhbms6QmFzaWNQdzE3'),
    stderr(4, `MARK-E4 session PHPSESSID=CookieSess24; cart=BareCk26b jwt ${JWT} aws AKIAZZZZZZZZ37EXAMPL gcp AIzaSyD-GcpKey38abcdefghijklmnopqrstuvw`),
    stderr(5, `PHP Fatal error:  MARK-E5 cannot connect postgres://app:PgDsnPw1@db.internal:5432/shop key -----BEGIN RSA PRIVATE KEY-----${PEM}-----END RSA PRIVATE KEY-----`),
    stderr(6, 'MARK-E6 Proxy-Authorization: Basic cHJveHk6UHJveHlQdzE5 form username=dave&password=FormPw14 DB_PASSWORD=EnvPw41 invalid Bearer BareTok23xYz'),
    `${errStamp} [error] 12#12: *907 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.0.0.8, server: lab.local, request: "GET /MARK-E7\x1b]0;owned\x07\x1b[2J\x1b[31mred HTTP/1.1", upstream: "fastcgi://127.0.0.1:9000", host: "lab.local"`,
  ];
  appendFileSync(lab.paths.error, `${errors.join('\n')}\n`);
  appendFileSync(
    lab.paths.fpmLog,
    `[${fpmStamp}] WARNING: [pool www] child 4242 said into stderr: "MARK-F1 #0 /srv/www/legacy.php(8): mysqli->__construct('10.0.0.5', 'legacy', 'MysqliPw30', 'shop')"\n`,
  );
}

beforeAll(async () => {
  [stub, labHost] = await Promise.all([startSlackStub(), startLabHost()]);
  // Real traffic first (nginx's own lines and clock), some of it carrying credentials too.
  await labHost.lab.request('/ok.php?user=root&pass=QueryPass8', { headers: { referer: 'https://alice:RefPw-991@shop.example.com/', cookie: 'PHPSESSID=CookieSess24' } });
  await labHost.lab.requestMany('/ok.php', 5);
  await labHost.lab.readLogs();
  seed(labHost.lab);
  app = await startHttpBot({ config: labHost.config, apiUrl: stub.apiUrl, signingSecret: SLACK_SECRET, botToken: 'xoxb-secrets', updateIntervalMs: 100 });
  url = app.url;
}, 120_000);

afterAll(async () => {
  await app?.stop();
  await stub?.close();
  await labHost?.stop();
});

describe('a triage over SSH of logs seeded with secrets', () => {
  it('Slack: the messages and the evidence show every seeded line and none of its secrets', async () => {
    const body = slashBody({ text: 'triage web-lab --since 15m', user_id: 'U0ONCALL', channel_id: CHANNEL, response_url: stub.responseUrl('secrets') });
    expect((await post(url, body, sign(SLACK_SECRET, body))).status).toBe(200);
    const final = await stub.waitFor(() => stub.ok('chat.update').find((c) => JSON.stringify(c.body).includes('bg:evidence')), 60_000, 'the verdict with its buttons');
    const actions = (final.body.blocks as Array<{ type: string; elements?: Array<{ action_id: string; value: string }> }>).find((b) => b.type === 'actions')!;
    const evidence = actions.elements!.find((e) => e.action_id.startsWith('bg:evidence'))!;
    const click = actionBody(
      clickPayload({ user: 'U0ONCALL', channel: CHANNEL, messageTs: final.body.ts as string, actionId: evidence.action_id, value: evidence.value, responseUrl: stub.responseUrl('evidence') }),
    );
    expect((await post(url, click, sign(SLACK_SECRET, click))).status).toBe(200);
    const shown = await stub.waitFor(() => stub.calls.find((c) => c.method === 'upload' || (c.method === 'chat.postMessage' && c.body.thread_ts)), 30_000, 'the evidence');
    const everything = stub.calls.map((c) => c.raw).join('\n');
    for (const marker of ['MARK-E1', 'MARK-E2', 'MARK-E3', 'MARK-E4', 'MARK-E5', 'MARK-E6', 'MARK-E7', 'MARK-F1']) expect(shown.raw, marker).toContain(marker);
    expect(leaks(everything)).toEqual([]);
    // Readable still: the shapes are there, the values are not.
    expect(shown.raw).toContain("PDO->__construct('mysql:host=db;d...', 'shop', '[redacted]')");
    expect(shown.raw).toContain('https://alice:[redacted]@shop.example.com/MARK-E1');
  }, 120_000);

  it('the CLI: text and --json', () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, [BIN, 'triage', 'web-lab', '--since', '15m', '--config', labHost.configFile, ...args], {
        encoding: 'utf8',
        env: consoleEnv({ LOG_LEVEL: '' }),
        cwd: REPO_ROOT,
        timeout: 60_000,
      });
    const text = run([]);
    const json = run(['--json']);
    expect(text.status, text.stderr).toBe(0);
    expect(json.status, json.stderr).toBe(0);
    expect(leaks(text.stdout + text.stderr)).toEqual([]);
    expect(leaks(json.stdout)).toEqual([]);
    expect(text.stdout).not.toContain('\x1b');
    // The JSON holds every sample; the text shows the verdict and counts (its evidence lines are summaries).
    const parsed = JSON.parse(json.stdout) as unknown;
    const all = JSON.stringify(parsed);
    for (const marker of ['MARK-E1', 'MARK-E2', 'MARK-E3', 'MARK-E4', 'MARK-E5', 'MARK-E6', 'MARK-F1']) expect(all, marker).toContain(marker);
    expect(text.stdout).toMatch(/VERDICT: /);
    expect(SECRET_RE.test(text.stdout + json.stdout)).toBe(false);
  }, 120_000);

  it('the CLI: a catalog command printing raw log lines (`run`)', () => {
    // `run` does not discover: this config names the error log.
    const config = writeConfig({ catalog: defaultCatalogDir(), hosts: { 'web-lab': hostConfig(labHost.sshd, { errorLog: labHost.lab.paths.error }) } });
    const run = (args: string[]) =>
      spawnSync(process.execPath, [BIN, 'run', 'web-lab', 'log.tail', 'source=errorLog', 'lines=20', '--config', config, ...args], {
        encoding: 'utf8',
        env: consoleEnv({ LOG_LEVEL: '' }),
        cwd: REPO_ROOT,
        timeout: 60_000,
      });
    // (Its --json output goes through the same scrubber; one process less on a busy machine.)
    const text = run([]);
    expect(text.status, text.stderr).toBe(0);
    for (const marker of ['MARK-E1', 'MARK-E3', 'MARK-E5', 'MARK-E6']) expect(text.stdout, marker).toContain(marker);
    expect(text.stdout).toContain('MARK-E7red');
    expect(text.stdout).not.toContain('\x1b');
    expect(leaks(text.stdout + text.stderr)).toEqual([]);
  }, 120_000);

  it('the console: the triage, its evidence, and a runbook timeline file', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'badgateway-secrets-'));
    const c = spawnConsole({ env: consoleEnv({ BADGATEWAY_CONFIG: labHost.configFile, BADGATEWAY_DATA_DIR: dataDir, LOG_LEVEL: '', METRICS_PORT: '0' }) });
    try {
      await c.match(/badgateway console: type \/502 help/);
      c.send('/502 triage web-lab --since 15m');
      const button = await c.match(/\[(\d+)\] Show evidence/, 0, 60_000);
      const from = c.out().length;
      c.send(button[1]!);
      await c.match(/MARK-F1/, from, 30_000);
      // A runbook's second step shows the error-log signatures; the timeline file carries that check's output.
      c.send('/502 runbook web-lab --since 15m');
      const done = await c.match(/\[(\d+)\] Done/, from, 60_000);
      const stepAt = c.out().length;
      c.send(done[1]!);
      await c.match(/\[(\d+)\] Done/, stepAt, 60_000);
      c.send('/502 timeline');
      const file = await c.match(/--- (timeline-web-lab-[\d-]+-[a-f0-9]+\.md) ---([\s\S]*?)--- end of \1 ---/, stepAt, 30_000);
      expect(file[2]).toMatch(/MARK-E\d/);
      const out = c.out();
      for (const marker of ['MARK-E1', 'MARK-E2', 'MARK-E3', 'MARK-E4', 'MARK-E5', 'MARK-E6', 'MARK-E7', 'MARK-F1']) expect(out, marker).toContain(marker);
      expect(leaks(out + c.err())).toEqual([]);
      // No log line drives the terminal: the console prints no escape sequence at all.
      expect(out).not.toContain('\x1b');
      expect(out).toContain('MARK-E7red');
    } finally {
      await c.quit();
    }
  }, 180_000);
});
