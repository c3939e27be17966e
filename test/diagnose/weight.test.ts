/**
 * Claims that hold: the same real nginx error lines (recorded from the lab's fpm_down_tcp fault) read
 * against different amounts of traffic. One refused connect among 2,000 requests is a note to watch,
 * not "PHP-FPM is down"; failures that stopped while traffic went on are reported as stopped.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderText } from '../../src/report/index.js';
import { analyzeFiles } from '../../src/triage/analyze-files.js';
import { LAB_LOG_FORMAT } from '../lab/lab.js';
import { REPO_ROOT } from '../support/config.js';

const RECORDED = join(REPO_ROOT, 'test', 'fixtures', 'lab', 'fpm_down_tcp');
/** The refused connects nginx logged, at 2026-11-25 16:52:22 UTC, on connections *8 and up. */
const REFUSED = readFileSync(join(RECORDED, 'error.log'), 'utf8')
  .split('\n')
  .filter((l) => l.includes('(111: Connection refused)'));
const AT = Date.parse('2026-11-25T16:52:22Z');

function accessLine(time: number, status: number, cn: number): string {
  const d = new Date(time);
  const month = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const stamp = `${String(d.getUTCDate()).padStart(2, '0')}/${month}/${d.getUTCFullYear()}:${d.toISOString().slice(11, 19)} +0000`;
  const upstream = status === 502 ? 'uct="-" uht="-" urt="0.000"' : 'uct="0.000" uht="0.002" urt="0.002"';
  return `127.0.0.1 - - [${stamp}] "GET /ok.php HTTP/1.1" ${status} 13 "-" "badgateway-lab/1" rt=0.002 ${upstream} uaddr="127.0.0.1:42639" ustatus="${status}" cn=${cn}`;
}

/** `ok` requests every 500 ms from `from`, and a 502 at 16:52:22 on the connection of each error line given. */
async function analyze(errorLines: string[], ok: number, from: number) {
  const dir = mkdtempSync(join(tmpdir(), 'badgateway-weight-'));
  const lines = Array.from({ length: ok }, (_, i) => ({ t: from + i * 500, line: accessLine(from + i * 500, 200, 100_000 + i) }));
  for (const e of errorLines) lines.push({ t: AT, line: accessLine(AT, 502, Number(/\*(\d+) /.exec(e)![1])) });
  lines.sort((a, b) => a.t - b.t);
  writeFileSync(join(dir, 'access.log'), `${lines.map((l) => l.line).join('\n')}\n`);
  writeFileSync(join(dir, 'error.log'), `${errorLines.join('\n')}\n`);
  const report = await analyzeFiles({ access: join(dir, 'access.log'), error: join(dir, 'error.log'), logFormat: `'${LAB_LOG_FORMAT}'`, window: { kind: 'all' } });
  return report.diagnosis;
}

describe('how much the failures weigh', () => {
  it('one refused connect among 2,000 requests is an isolated note, not "PHP-FPM is down"', async () => {
    const d = await analyze(REFUSED.slice(0, 1), 2000, AT - 500_000);
    const top = d.causes[0]!;
    expect(top.id).toBe('fpm_down');
    expect(top.confidence).toBeLessThan(0.5);
    expect(top.summary).toMatch(
      /^Isolated: 1 failure of this kind among 2001 requests \(0\.050%\), too few to say "PHP-FPM is down"; watch whether it repeats\. What was logged: 1 connect\(\) failure to fastcgi:\/\/127\.0\.0\.1:42639: connection refused \(111\)\./,
    );
    expect(top.summary).not.toMatch(/is not accepting connections/);
  });

  it('the same failures at a rate that matters are the cause, with the claim', async () => {
    // 5 refused connects among 45 requests: one in nine failed.
    const d = await analyze(REFUSED, 40, AT - 10_000);
    const top = d.causes[0]!;
    expect(REFUSED).toHaveLength(5);
    expect(top.id).toBe('fpm_down');
    expect(top.confidence).toBeGreaterThan(0.8);
    expect(top.summary).toMatch(/^PHP-FPM is not accepting connections on fastcgi:\/\/127\.0\.0\.1:42639/);
  });

  it('failures that stopped while traffic went on are reported as stopped, with less confidence', async () => {
    // Traffic from 16:51:40 to about 17:05: the refused connects at 16:52:22 are long over.
    const ongoing = (await analyze(REFUSED, 40, AT - 10_000)).causes[0]!;
    const stopped = (await analyze(REFUSED, 1500, AT - 40_000)).causes[0]!;
    expect(stopped.id).toBe('fpm_down');
    expect(stopped.summary).toMatch(/Last at 16:52:22Z, none since while 1419 requests were served\.$/);
    expect(stopped.confidence).toBeLessThan(ongoing.confidence);
    expect(ongoing.summary).not.toMatch(/none since/);
  });

  it('says nothing of stopping when too few requests followed, or when the access log shows later failures', async () => {
    // Traffic ends 29.5 s after the last failure (59 requests): too short to call the failures over.
    const short = (await analyze(REFUSED, 100, AT - 20_000)).causes[0]!;
    expect(short.summary).not.toMatch(/none since/);
    // A 502 in the access log 5 minutes after the error log's last entry: the failures did not stop.
    const dir = mkdtempSync(join(tmpdir(), 'badgateway-weight-'));
    const lines = Array.from({ length: 1500 }, (_, i) => accessLine(AT - 40_000 + i * 500, i === 700 ? 502 : 200, 100_000 + i));
    writeFileSync(join(dir, 'access.log'), `${lines.join('\n')}\n`);
    writeFileSync(join(dir, 'error.log'), `${REFUSED.join('\n')}\n`);
    const report = await analyzeFiles({ access: join(dir, 'access.log'), error: join(dir, 'error.log'), logFormat: `'${LAB_LOG_FORMAT}'`, window: { kind: 'all' } });
    expect(report.diagnosis.causes[0]!.summary).not.toMatch(/none since/);
  });
});

describe('two causes that both hold', () => {
  it('a full pool and read timeouts are both shown, the one that explains more failures first', async () => {
    // Recorded from the lab: 16 concurrent 3 s requests on 2 workers with a backlog of 2 and a 2 s read timeout.
    const dir = join(REPO_ROOT, 'test', 'fixtures', 'lab', 'pool_exhausted');
    const report = await analyzeFiles({
      access: join(dir, 'access.log'),
      error: join(dir, 'error.log'),
      fpmLog: join(dir, 'fpm.log'),
      nginxConf: join(dir, 'nginx-T.txt'),
      window: { kind: 'all' },
    });
    const [first, second] = report.diagnosis.causes;
    expect([first?.id, second?.id]).toEqual(['pool_exhausted', 'fastcgi_read_timeout']);
    expect(first!.explains).toBe(12);
    expect(second!.explains).toBe(5);
    expect(second!.confidence).toBeGreaterThanOrEqual(0.5);
    expect(second!.summary).toMatch(/the pool was full at the time, so some of them waited for a free worker/);
    // Printed as a second cause that holds, with its own fix, not as a weaker candidate.
    const text = renderText(report);
    expect(text).toMatch(
      /\nAlso holds:\n {2}PHP answered too slowly: nginx gave up at fastcgi_read_timeout \(fastcgi_read_timeout, 0\.\d\d, explains 5 failures\): PHP did not answer within fastcgi_read_timeout \(2s\)/,
    );
    expect(text).toMatch(/\n {4}FIX: Find and fix the slow code/);
    expect(text).not.toContain('Other candidates:');
  });
});
