/**
 * Triage results for front-end tests, built from the real analyzers over evidence recorded from the
 * lab (test/fixtures/lab/<scenario>), and an oversized one (many hosts, causes, samples, findings)
 * to push every Slack limit.
 */
import { join } from 'node:path';
import type { Report } from '../../src/triage/report.js';
import { fleetRows } from '../../src/triage/triage.js';
import type { HostTriage, TriageResult } from '../../src/triage/types.js';
import { analyzeFolder } from '../diagnose/support.js';
import { REPO_ROOT } from '../support/config.js';

export async function labReport(scenario: string, host: string): Promise<Report> {
  const report = await analyzeFolder(join(REPO_ROOT, 'test', 'fixtures', 'lab', scenario));
  return { ...report, host };
}

export function resultOf(target: string, hosts: HostTriage[], durationMs = 1234): TriageResult {
  const now = Date.now();
  return { target, window: { from: now - 900_000, to: now, since: '15m', until: false }, rows: fleetRows(hosts), hosts, durationMs };
}

export function hostOf(report: Report | null, name: string, error: string | null = null): HostTriage {
  return { host: name, report: report ? { ...report, host: name } : null, error, timings: { total: 800 }, bytesFetched: 4096 };
}

/** A log line that would ping the channel, carry a link and leak a token if shown as is. */
export const HOSTILE_LINE = '2026/11/25 16:52:20 [error] 7#7: *12 upstream timed out <!channel> <https://evil.example|click> GET /api?token=SECRET123&x=1 HTTP/1.1 ```';

/** Far more than one Slack message holds: 30 hosts, 40 causes with long samples, 60 findings, 80 upstreams. */
export async function hugeResult(target: string): Promise<TriageResult> {
  const base = await labReport('fastcgi_read_timeout', 'web-big-00');
  const cause = base.diagnosis.causes[0]!;
  const long = `${HOSTILE_LINE} ${'x'.repeat(2500)}`;
  const causes = Array.from({ length: 40 }, (_, i) => ({
    ...cause,
    summary: `${cause.summary} (variant ${i}) ${'y'.repeat(400)}`,
    evidence: Array.from({ length: 10 }, (_, j) => ({ source: 'error.log' as const, text: `evidence ${j} ${long}`, samples: [long, long] })),
  }));
  const access = base.access!;
  const upstreams = Array.from({ length: 80 }, (_, i) => ({ ...access.upstreams[0]!, addr: `unix:/run/php/very/long/path/to/the/socket/of/pool-${i}/${'z'.repeat(120)}.sock` }));
  const findings = Array.from({ length: 60 }, (_, i) => ({
    ...(base.findings[0] ?? { id: 'timeout_hierarchy', severity: 'warn' as const, summary: '', detail: '' }),
    summary: `finding ${i} ${'w'.repeat(300)}`,
  }));
  const report: Report = {
    ...base,
    access: {
      ...access,
      upstreams,
      topFailingUris: Array.from({ length: 50 }, (_, i) => ({ uri: `/very/long/uri/${i}/${'u'.repeat(200)}?token=SECRET123`, count5xx: 50 - i, count502: 0, count504: 50 - i })),
    },
    findings,
    diagnosis: { ...base.diagnosis, causes, notes: Array.from({ length: 20 }, (_, i) => `note ${i} ${'n'.repeat(300)}`) },
  };
  const hosts = Array.from({ length: 30 }, (_, i) => hostOf(report, `web-big-${String(i).padStart(2, '0')}`));
  hosts.push(hostOf(null, 'web-big-down', `connect ECONNREFUSED 127.0.0.1:22 ${'e'.repeat(3000)}`));
  return resultOf(target, hosts, 65_432);
}
