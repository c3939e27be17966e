/**
 * The pure parts of digests over evidence recorded from the lab (test/fixtures/lab, run through the
 * real analyzers): the numbers, worst-first order, change arrows, FPM counter deltas, a quiet night,
 * Slack's limits and escaping, the chart's PNG, and cron fire-time arithmetic against node-cron's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cron from 'node-cron';
import { describe, expect, it } from 'vitest';
import {
  CHART_FONT,
  buildDigest,
  digestMessage,
  hourStart,
  loadChartEngine,
  nextFireTime,
  pngSize,
  previousFireTime,
  renderDigestChart,
  renderDigestSlack,
  renderDigestText,
  toStored,
} from '../../src/digest/index.js';
import type { Report } from '../../src/triage/report.js';
import type { HostTriage, TriageResult } from '../../src/triage/types.js';
import { HOSTILE_LINE, hugeResult, labReport } from '../slack/fixtures.js';
import { analyzeFolder } from '../diagnose/support.js';
import { REPO_ROOT } from '../support/config.js';
import { blockProblem } from '../slack/stub.js';

const HOUR = 3_600_000;

function host(report: Report | null, name: string, error: string | null = null): HostTriage {
  return { host: name, report: report ? { ...report, host: name } : null, error, timings: {}, bytesFetched: 2048 };
}

/** A result whose window covers the recorded logs (they were written on 25 Nov 2026), with 3 quiet hours before. */
function resultOf(hosts: HostTriage[], target = '@web'): TriageResult {
  const times = hosts.flatMap((h) => (h.report?.access ? [h.report.access.firstTime!, h.report.access.lastTime!] : []));
  const from = Math.min(...times) - 3 * HOUR;
  const to = Math.max(...times) + 60_000;
  return { target, window: { from, to, since: '4h', until: false }, rows: [], hosts, durationMs: 2500 };
}

async function fleet() {
  const exhausted = await labReport('pool_exhausted', 'web-1');
  const readTimeout = await labReport('fastcgi_read_timeout', 'web-2');
  const healthy = await labReport('healthy', 'web-3');
  return { exhausted, readTimeout, healthy, result: resultOf([host(healthy, 'web-3'), host(readTimeout, 'web-2'), host(exhausted, 'web-1'), host(null, 'web-down', 'connection refused')]) };
}

describe('buildDigest', () => {
  it('carries the AccessStats numbers per host and their sums per fleet, worst host first', async () => {
    const { exhausted, readTimeout, healthy, result } = await fleet();
    const d = buildDigest(result, null, { schedule: 'morning', timeZone: 'Europe/Berlin' });
    expect(d.hosts.map((h) => h.host)).toEqual(['web-1', 'web-2', 'web-3']);
    for (const [name, r] of [
      ['web-1', exhausted],
      ['web-2', readTimeout],
      ['web-3', healthy],
    ] as const) {
      const h = d.hosts.find((x) => x.host === name)!;
      const a = r.access!;
      expect({ requests: h.requests, c502: h.count502, c504: h.count504, c5xx: h.count5xx, rate: h.rate5xx, p95: h.p95, p99: h.p99 }).toEqual({
        requests: a.requests,
        c502: a.count502,
        c504: a.count504,
        c5xx: a.count5xx,
        rate: a.rate5xx,
        p95: a.upstreamResponseTime.p95,
        p99: a.upstreamResponseTime.p99,
      });
      expect(h.topUris.map((u) => u.uri)).toEqual(a.topFailingUris.slice(0, 5).map((u) => u.uri));
    }
    const all = [exhausted, readTimeout, healthy].map((r) => r.access!);
    const sum = (f: (a: (typeof all)[number]) => number) => all.reduce((n, a) => n + f(a), 0);
    expect(d.fleet.requests).toBe(sum((a) => a.requests));
    expect(d.fleet.count502).toBe(sum((a) => a.count502));
    expect(d.fleet.count504).toBe(sum((a) => a.count504));
    expect(d.fleet.rate5xx).toBeCloseTo(sum((a) => a.count5xx) / sum((a) => a.requests), 10);
    expect(d.fleet.p95).toBe(Math.max(...all.map((a) => a.upstreamResponseTime.p95 ?? 0)));
    // Every request lands in exactly one hour of the grid, and the worst hour is the one with most 502+504.
    expect(d.hourly.reduce((n, b) => n + b.requests, 0)).toBe(d.fleet.requests);
    expect(d.hourly.reduce((n, b) => n + b.count502 + b.count504, 0)).toBe(d.fleet.count502 + d.fleet.count504);
    expect(d.hourly.length).toBeGreaterThanOrEqual(4);
    const worst = [...d.hourly].sort((a, b) => b.count502 + b.count504 - (a.count502 + a.count504))[0]!;
    expect(d.fleet.worstHour?.hour).toBe(worst.hour);
    expect(d.unreachable).toEqual([{ host: 'web-down', error: 'connection refused' }]);
    expect(d.quiet).toBe(false);
    // The failing upstreams and the FPM log's max_children warnings of the exhausted pool.
    expect(d.topUpstreams[0]!.hosts).toEqual(['web-1']);
    expect(d.hosts[0]!.fpm?.maxChildrenLogged).toBe(exhausted.fpm.log!.events.max_children_reached);
    expect(d.findings.length).toBeGreaterThan(0);
  });

  it('compares with the stored previous digest: arrows in the message, counter deltas for FPM', async () => {
    const { readTimeout } = await fleet();
    const status = readTimeout.fpm.status!;
    const now = { ...readTimeout, fpm: { ...readTimeout.fpm, status: { ...status, maxChildrenReached: 7, maxListenQueue: 12, slowRequests: 9 } } };
    const before = buildDigest(resultOf([host(readTimeout, 'web-2')]), null);
    const stored = toStored(before, before.window.to);
    // The previous digest saw fewer failures and lower counters of the same pool (same start time).
    stored.fleet = { ...stored.fleet, count504: 0, count5xx: 0, rate5xx: 0, requests: stored.fleet.requests * 2, p95: 0.5 };
    stored.hosts['web-2'] = {
      ...stored.hosts['web-2']!,
      count504: 0,
      count5xx: 0,
      rate5xx: 0,
      counters: { ...stored.hosts['web-2']!.counters!, maxChildrenReached: 3, maxListenQueue: 4, slowRequests: 2 },
    };
    const d = buildDigest(resultOf([host(now, 'web-2')]), stored);
    const fpm = d.hosts[0]!.fpm!;
    expect(fpm.maxChildrenSinceLast).toBe(4);
    expect(fpm.listenQueueRose).toBe(true);
    expect(fpm.slowSinceLast).toBe(7);
    expect(fpm.restarted).toBe(false);
    expect(d.change?.count504).toEqual({ before: 0, now: readTimeout.access!.count504 });
    const text = renderDigestText(d);
    expect(text).toMatch(/requests \d+ ▼ 50%/);
    expect(text).toMatch(/504 × \d+ ▲ from 0/);
    expect(text).toMatch(/5xx [\d.]+% ▲ \+[\d.]+ pp/);
    expect(text).toMatch(/max children reached \+4 since the last digest/);
    expect(text).toMatch(/listen queue peak 12 ▲ new/);

    // A restarted pool (other start time): the counter since its start is the delta.
    stored.hosts['web-2']!.counters!.startTime = status.startTime! - 86_400_000;
    const restarted = buildDigest(resultOf([host(now, 'web-2')]), stored).hosts[0]!.fpm!;
    expect(restarted).toMatchObject({ maxChildrenSinceLast: 7, restarted: true });
  });

  it('says a quiet night in one short line', async () => {
    const healthy = await labReport('healthy', 'web-3');
    const clean: Report = { ...healthy, access: { ...healthy.access!, count5xx: 0, count502: 0, count504: 0, rate5xx: 0, statuses: { '200': healthy.access!.requests } } };
    const d = buildDigest(resultOf([host(clean, 'web-3'), host(clean, 'web-4')]), null, { schedule: 'nightly', timeZone: 'Europe/Berlin' });
    expect(d.quiet).toBe(true);
    const message = digestMessage(d, { images: true });
    expect(message.blocks).toHaveLength(1);
    const text = renderDigestText(d).trim();
    expect(text.split('\n')).toHaveLength(1);
    expect(text).toMatch(/^🌙 All quiet on @web \(nightly digest\): 2 hosts, \d+ requests, no 5xx/);
    expect(text.length).toBeLessThan(200);
  });

  it('never calls a host without data quiet: it is listed under "No data" with why, and keeps its last totals', async () => {
    const healthy = await labReport('healthy', 'web-3');
    const clean: Report = { ...healthy, access: { ...healthy.access!, count5xx: 0, count502: 0, count504: 0, rate5xx: 0, statuses: { '200': healthy.access!.requests } } };
    // The same host's evidence without its access log: the verdict is Unknown, the digest must say so.
    const blind = await analyzeFolder(join(REPO_ROOT, 'test', 'fixtures', 'lab', 'healthy'), ['access']);
    expect(blind.diagnosis.verdict.status).toBe('unknown');
    const d = buildDigest(resultOf([host(clean, 'web-3'), host(blind, 'web-4')]), null, { schedule: 'nightly', timeZone: 'Europe/Berlin' });
    expect(d.quiet).toBe(false);
    expect(d.fleet).toMatchObject({ hosts: 2, reached: 2, withData: 1, attention: 1 });
    expect(d.hosts.find((h) => h.host === 'web-4')).toMatchObject({ noData: 'no access log was given', attention: true });
    const text = renderDigestText(d);
    expect(text).not.toMatch(/All quiet/);
    expect(text).toMatch(/1 of 2 hosts needs attention/);
    expect(text).toMatch(/1\/2 hosts with data \(1 reached without: see below\)/);
    expect(text).toMatch(/No data for 1 host \(not counted as quiet\)/);
    expect(text).toMatch(/web-4.*no access log was given/);
    // Its stored totals are the previous digest's, not zeros a later comparison would read as a recovery.
    const previous = toStored(buildDigest(resultOf([host(clean, 'web-3'), host(clean, 'web-4')]), null, {}), 1);
    expect(toStored(d, 2, previous).hosts['web-4']).toEqual(previous.hosts['web-4']);
  });

  it('keeps Block Kit within Slack limits and log text inert, however big the fleet', async () => {
    const huge = await hugeResult('@big');
    const times = huge.hosts.flatMap((h) => (h.report?.access ? [h.report.access.firstTime!] : []));
    const d = buildDigest({ ...huge, window: { from: Math.min(...times) - 20 * HOUR, to: Math.min(...times) + 4 * HOUR, since: '24h', until: false } }, null);
    for (const images of [true, false]) {
      const slack = renderDigestSlack(d, { images });
      expect(blockProblem(slack.blocks)).toBeNull();
      const json = JSON.stringify(slack);
      expect(json).not.toContain('<!channel>');
      expect(json).not.toContain('SECRET123');
    }
    expect(HOSTILE_LINE).toContain('SECRET123');
  });
});

describe('chart', () => {
  it('is a PNG of the asked size, drawn with the font shipped in the npm package', async () => {
    const { result } = await fleet();
    const d = buildDigest(result, null, { timeZone: 'Europe/Berlin' });
    const png = await renderDigestChart(d);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(pngSize(png)).toEqual({ width: 1000, height: 440 });
    const small = await renderDigestChart(d, { width: 640, height: 300 });
    expect(pngSize(small)).toEqual({ width: 640, height: 300 });
    const { GlobalFonts } = await loadChartEngine();
    expect(GlobalFonts.has(CHART_FONT)).toBe(true);
    expect(pngSize(Buffer.from('not a png'))).toBeNull();
  });

  it('looks the same on a machine without any system font (the text comes from the npm package)', async () => {
    const { result } = await fleet();
    const d = buildDigest(result, null, { timeZone: 'Europe/Berlin' });
    const dir = mkdtempSync(join(tmpdir(), 'badgateway-chart-'));
    writeFileSync(join(dir, 'digest.json'), JSON.stringify(d));
    const script = join(import.meta.dirname, 'render-chart.ts');
    const render = (out: string, hideFonts: boolean) => {
      // A mount namespace whose font folders are empty: what a CI machine without fonts sees.
      const hide = 'for d in /usr/share/fonts /usr/local/share/fonts /etc/fonts; do [ -d $d ] && mount -t tmpfs tmpfs $d; done; ';
      const run = `${hideFonts ? hide : ''}exec "${process.execPath}" --import tsx "${script}" "${join(dir, 'digest.json')}" "${out}"`;
      return hideFonts ? spawnSync('unshare', ['--mount', 'sh', '-c', run], { encoding: 'utf8' }) : spawnSync('sh', ['-c', run], { encoding: 'utf8' });
    };
    const here = render(join(dir, 'here.png'), false);
    expect(here.status, here.stderr).toBe(0);
    const bare = render(join(dir, 'bare.png'), true);
    expect(bare.status, bare.stderr).toBe(0);
    expect(readFileSync(join(dir, 'bare.png')).equals(readFileSync(join(dir, 'here.png')))).toBe(true);
  });
});

describe('fire times', () => {
  it('finds the previous fire in the schedule zone, across a DST change', () => {
    // Europe/Berlin moves to CEST on 29 Mar 2026: 08:00 is 07:00Z before, 06:00Z after.
    expect(previousFireTime('0 8 * * *', 'Europe/Berlin', Date.UTC(2026, 2, 29, 10))).toBe(Date.UTC(2026, 2, 29, 6));
    expect(previousFireTime('0 8 * * *', 'Europe/Berlin', Date.UTC(2026, 2, 29, 6))).toBe(Date.UTC(2026, 2, 28, 7));
    // Strictly before: at the fire time itself, the one before.
    expect(previousFireTime('*/15 * * * *', 'UTC', Date.UTC(2026, 0, 1, 12, 30))).toBe(Date.UTC(2026, 0, 1, 12, 15));
    // Half-hour zone, weekly.
    expect(previousFireTime('30 7 * * 1', 'Asia/Kolkata', Date.UTC(2026, 10, 25))).toBe(Date.UTC(2026, 10, 23, 2, 0));
    expect(hourStart(Date.UTC(2026, 10, 25, 3, 10), 'Asia/Kolkata')).toBe(Date.UTC(2026, 10, 25, 2, 30));
  });

  it('agrees with node-cron on the next fire times (day of month AND day of week, nth weekday)', () => {
    for (const [expr, zone] of [
      ['0 8 * * *', 'Europe/Berlin'],
      ['*/20 6-9 * * 1-5', 'America/New_York'],
      ['15 */3 * * *', 'Asia/Kolkata'],
      ['0 8 1-7 * 1', 'UTC'],
      ['30 9 * * 1#2', 'Europe/Berlin'],
    ] as const) {
      const task = cron.createTask(expr, () => undefined, { timezone: zone });
      try {
        const [a, b] = task.getNextRuns(2).map((d) => d.getTime());
        const first = nextFireTime(expr, zone, Date.now());
        expect(first).toBe(a);
        expect(nextFireTime(expr, zone, first!)).toBe(b);
        expect(previousFireTime(expr, zone, b!)).toBe(a);
      } finally {
        task.destroy();
      }
    }
  });
});
