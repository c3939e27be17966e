import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/config.js';

const BIN = join(REPO_ROOT, 'bin', 'badgateway.js');
const LAB = join(REPO_ROOT, 'test', 'fixtures', 'lab');

function cli(args: string[]) {
  const result = spawnSync(process.execPath, [BIN, 'analyze', ...args], { encoding: 'utf8', cwd: REPO_ROOT, timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function scenarioArgs(name: string): string[] {
  const dir = join(LAB, name);
  return [
    '--access',
    join(dir, 'access.log'),
    '--error',
    join(dir, 'error.log'),
    '--fpm-log',
    join(dir, 'fpm.log'),
    '--slow-log',
    join(dir, 'slow.log'),
    '--fpm-status',
    join(dir, 'fpm-status.txt'),
    '--nginx-conf',
    join(dir, 'nginx-T.txt'),
    '--fpm-conf',
    join(dir, 'fpm-tt.txt'),
  ];
}

/** An access log in the built-in `upstream` format, one request per [$time_local, status]. */
function upstreamLog(prefix: string, requests: Array<[string, number]>): string {
  const file = join(mkdtempSync(join(tmpdir(), prefix)), 'access.log');
  const line = ([ts, status]: [string, number]) =>
    `127.0.0.1 - - [${ts}] "GET /x.php HTTP/1.1" ${status} 5 "-" "curl" rt=0.010 uct="0.000" uht="0.010" urt="0.010" uaddr="unix:/run/php.sock" ustatus="${status}"`;
  writeFileSync(file, `${requests.map(line).join('\n')}\n`);
  return file;
}

describe('badgateway analyze', () => {
  it('prints one JSON object with the contract keys and the ranked causes', () => {
    const { code, stdout } = cli([...scenarioArgs('request_terminate_timeout'), '--json']);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const report = JSON.parse(stdout);
    expect(Object.keys(report)).toEqual(expect.arrayContaining(['window', 'access', 'errors', 'fpm', 'findings', 'diagnosis']));
    expect(report.diagnosis.causes[0].id).toBe('request_terminate_timeout');
    expect(report.access.count502).toBeGreaterThan(0);
    expect(report.logFormat.from).toBe('nginx-config');
  });

  it('leads the terminal report with the verdict, evidence and the fix', () => {
    const { code, stdout } = cli(scenarioArgs('socket_permission'));
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^VERDICT: nginx may not open PHP-FPM's socket \(permissions\) \(socket_permission, confidence 0\.\d\d\)$/);
    expect(stdout).toMatch(/FIX: Let nginx's user \(\S+\) open the socket/);
    expect(stdout).toMatch(/Sources:\n\s+access\s+read/);
  });

  it('reads gzip-compressed logs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'badgateway-gz-'));
    const gz = join(dir, 'access.log.1.gz');
    writeFileSync(gz, gzipSync(readFileSync(join(LAB, 'header_too_big', 'access.log'))));
    const plain = JSON.parse(cli(['--access', join(LAB, 'header_too_big', 'access.log'), '--nginx-conf', join(LAB, 'header_too_big', 'nginx-T.txt'), '--json']).stdout);
    const zipped = JSON.parse(cli(['--access', gz, '--nginx-conf', join(LAB, 'header_too_big', 'nginx-T.txt'), '--json']).stdout);
    expect(zipped.access.requests).toBe(plain.access.requests);
    expect(zipped.access.count502).toBe(plain.access.count502);
    expect(zipped.access.requests).toBeGreaterThan(0);
  });

  it('--since counts back from the newest entry in the files', () => {
    const file = upstreamLog('badgateway-since-', [
      ['25/Nov/2026:09:00:00 +0000', 502],
      ['25/Nov/2026:09:40:00 +0000', 502],
      ['25/Nov/2026:09:58:00 +0000', 200],
      ['25/Nov/2026:10:00:00 +0000', 200],
    ]);
    const all = JSON.parse(cli(['--access', file, '--log-format', 'upstream', '--json']).stdout);
    const recent = JSON.parse(cli(['--access', file, '--log-format', 'upstream', '--since', '15m', '--json']).stdout);
    expect(all.access.requests).toBe(4);
    expect(recent.access.requests).toBe(2);
    expect(recent.access.count502).toBe(0);
    expect(recent.window.from).toBe(Date.parse('2026-11-25T09:45:00Z'));
    const range = JSON.parse(cli(['--access', file, '--log-format', 'upstream', '--from', '2026-11-25T09:35:00Z', '--to', '2026-11-25T09:55:00Z', '--json']).stdout);
    expect(range.access.requests).toBe(1);
    expect(range.access.count502).toBe(1);
  });

  it('--until ends the window: at a time with its offset, or a duration before the newest entry', () => {
    // The host logs at +05:30: 15:00 there is 09:30Z.
    const file = upstreamLog('badgateway-until-', [
      ['25/Nov/2026:14:30:00 +0530', 200],
      ['25/Nov/2026:14:45:00 +0530', 502],
      ['25/Nov/2026:15:20:00 +0530', 504],
      ['25/Nov/2026:15:30:00 +0530', 200],
    ]);
    const run = (...args: string[]) => {
      const { code, stdout } = cli(['--access', file, '--log-format', 'upstream', '--json', ...args]);
      expect(code).toBe(0);
      return JSON.parse(stdout);
    };
    const postMortem = run('--since', '30m', '--until', '2026-11-25T15:00+05:30');
    expect(postMortem.window).toMatchObject({ from: Date.parse('2026-11-25T09:00:00Z'), to: Date.parse('2026-11-25T09:30:00Z'), since: '30m', until: true });
    expect([postMortem.access.requests, postMortem.access.count502, postMortem.access.count504]).toEqual([2, 1, 0]);
    // The same instant written in UTC reads the same window.
    expect(run('--since', '30m', '--until', '2026-11-25T09:30:00Z').window).toEqual(postMortem.window);
    // 20m before the newest entry (15:30 +05:30): 15:10, so only the first two lines.
    const ago = run('--until', '20m');
    expect(ago.window.to).toBe(Date.parse('2026-11-25T09:40:00Z'));
    expect(ago.access.requests).toBe(2);
    const text = cli(['--access', file, '--log-format', 'upstream', '--since', '30m', '--until', '2026-11-25T09:30Z']).stdout;
    expect(text).toContain('Window: 2026-11-25 09:00:00Z .. 2026-11-25 09:30:00Z (30m to 2026-11-25 09:30Z)');
  });

  it('reports missing, empty and unreadable inputs instead of crashing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'badgateway-missing-'));
    writeFileSync(join(dir, 'empty.log'), '');
    writeFileSync(join(dir, 'garbage.log'), Buffer.from([0xff, 0xfe, 0x00, 0x41, 0x0a, 0x80, 0x81, 0x0a]));
    const { code, stdout } = cli(['--access', join(dir, 'garbage.log'), '--error', join(dir, 'nope.log'), '--fpm-log', join(dir, 'empty.log'), '--slow-log', dir, '--json']);
    // Reported, not a crash; and with nothing usable the verdict is Unknown (exit 1).
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    const status = Object.fromEntries(report.sources.map((s: { source: string; status: string }) => [s.source, s.status]));
    expect(status).toMatchObject({ access: 'read', error: 'missing', fpmLog: 'empty', slowLog: 'unreadable' });
    expect(report.access.unparsed).toBe(2);
    expect(report.access.requests).toBe(0);
  });

  it('does not call garbage evidence healthy: Unknown, why, what it needs, exit 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'badgateway-garbage-'));
    writeFileSync(join(dir, 'error.log'), 'not a log line\n\x01\x02 binary junk\nanother line\n');
    const { code, stdout } = cli(['--error', join(dir, 'error.log'), '--json']);
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(report.diagnosis.causes).toEqual([]);
    expect(report.diagnosis.verdict).toEqual({ status: 'unknown', why: 'no access log was given', needs: expect.stringMatching(/access log/) });
    expect(report.diagnosis.notes.join(' ')).toMatch(/None of the 3 error-log lines looked like nginx's error\.log/);
  });

  it('a missing, an empty or an unparseable access log, or one with nothing in the window, is Unknown, never healthy', () => {
    const dir = mkdtempSync(join(tmpdir(), 'badgateway-unknown-'));
    writeFileSync(join(dir, 'empty.log'), '');
    writeFileSync(join(dir, 'garbage.log'), 'hello\nworld\n');
    const line = `127.0.0.1 - - [25/Nov/2026:09:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl"`;
    writeFileSync(join(dir, 'old.log'), `${line}\n`);
    const cases: Array<[string[], RegExp]> = [
      [['--access', '/nonexistent/access.log'], /^VERDICT: Unknown: the access log is missing: \/nonexistent\/access.log does not exist/m],
      [['--access', join(dir, 'empty.log')], /^VERDICT: Unknown: the access log is empty: /m],
      [['--access', join(dir, 'garbage.log')], /^VERDICT: Unknown: none of the 2 access-log lines matched the log_format/m],
      // Read after the fact, a quiet window cannot tell "no traffic" from "nginx wrote elsewhere".
      [
        ['--access', join(dir, 'old.log'), '--since', '1h', '--until', '2026-11-25T12:00Z'],
        /^VERDICT: Unknown: the access log has no request in the window; its newest entry is at 2026-11-25 09:00Z/m,
      ],
    ];
    for (const [args, verdict] of cases) {
      const { code, stdout } = cli(args);
      expect(code, args.join(' ')).toBe(1);
      expect(stdout, args.join(' ')).toMatch(verdict);
      expect(stdout, args.join(' ')).toMatch(/^ {2}NEEDED: /m);
      expect(stdout, args.join(' ')).not.toMatch(/healthy/i);
    }
    // A log in another format: the first line says so and names the fix; no figures are made up from it.
    const garbage = cli(['--access', join(dir, 'garbage.log')]);
    expect(garbage.stderr).toBe(
      `badgateway: none of the 2 lines of ${join(dir, 'garbage.log')} matched the default \`combined\` format: pass --log-format 'FORMAT' (its log_format from nginx.conf) or --nginx-conf FILE (nginx -T output, which names it).\n`,
    );
    expect(garbage.stdout).toContain('Access log: none of its 2 lines matched the log_format (the default, combined): nothing was counted.');
    expect(garbage.stdout).not.toMatch(/peak concurrency|request time/);
    // The same log with its request in the window: healthy, exit 0.
    const ok = cli(['--access', join(dir, 'old.log')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^VERDICT: Healthy: no 502\/504 to explain \(healthy, confidence/m);
  });

  it('scrubs tokens, cookies and Authorization values from the lines it shows', () => {
    const dir = mkdtempSync(join(tmpdir(), 'badgateway-scrub-'));
    const error = join(dir, 'error.log');
    writeFileSync(
      error,
      '2026/11/25 10:00:01 [error] 12#12: *7 connect() to unix:/run/php/fpm.sock failed (13: Permission denied) while connecting to upstream, client: 10.0.0.9, server: shop, request: "GET /cart?id=3&access_token=SECRETTOKEN123&session=abcdef HTTP/1.1", upstream: "fastcgi://unix:/run/php/fpm.sock:", host: "shop", referrer: "https://shop/?api_key=KEY999"\n',
    );
    const { stdout } = cli(['--error', error]);
    const json = cli(['--error', error, '--json']).stdout;
    for (const out of [stdout, json]) {
      expect(out).toContain('socket_permission');
      expect(out).not.toContain('SECRETTOKEN123');
      expect(out).not.toContain('abcdef');
      expect(out).not.toContain('KEY999');
    }
    expect(stdout).toContain('access_token=[redacted]');
  });

  it.each([
    [['--since', 'yesterday', '--access', '/dev/null'], /--since "yesterday" is not a duration/],
    [['--since', '15m', '--from', '2026-11-25T00:00:00Z', '--access', '/dev/null'], /either --since\/--until or --from\/--to/],
    [['--from', 'noon', '--to', 'later', '--access', '/dev/null'], /--from "noon" is not a time/],
    [['--from', '2026-11-25T09:00:00', '--to', '2026-11-25T10:00:00Z', '--access', '/dev/null'], /--from "2026-11-25T09:00:00" is not a time: use ISO 8601 with Z or an offset/],
    [['--until', 'tomorrow', '--access', '/dev/null'], /--until "tomorrow" is not a time/],
    [['--until', '2026-02-30T10:00Z', '--access', '/dev/null'], /--until "2026-02-30T10:00Z" is not a time/],
    [['--until', '2h', '--to', '2026-11-25T10:00:00Z', '--access', '/dev/null'], /either --since\/--until or --from\/--to/],
    [['--access', '/dev/null', '--log-format', "escape=bogus '$remote_addr'"], /is not a log_format nginx would accept/],
    [[], /analyze needs at least one input file/],
    [['--bogus'], /unknown option "--bogus"\. It takes --access, /],
  ])('bad usage %j exits 2 with one line', (args, message) => {
    const { code, stdout, stderr } = cli(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(message);
  });
});
