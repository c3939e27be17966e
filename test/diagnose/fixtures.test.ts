/**
 * The diagnosis over evidence recorded from the real lab (test/fixtures/lab, written by
 * test/lab/record-fixtures.ts from real nginx + PHP-FPM failures): fast, and the same facts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/config.js';
import { analyzeFolder, expectedTopCause } from './support.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'lab');
const scenarios = readdirSync(FIXTURES).map((name) => ({
  name,
  expected: JSON.parse(readFileSync(join(FIXTURES, name, 'meta.json'), 'utf8')).expectedCause as string,
}));

describe('diagnosis of recorded lab failures', () => {
  it('covers every cause id the lab can produce', () => {
    expect(new Set(scenarios.map((s) => expectedTopCause(s.expected)))).toEqual(
      new Set([
        'healthy',
        'fastcgi_read_timeout',
        'request_terminate_timeout',
        'fpm_down',
        'pool_exhausted',
        'socket_permission',
        'header_too_big',
        'worker_crash',
        'upstream_down',
        'upstream_connect_timeout',
        'invalid_upstream_response',
      ]),
    );
  });

  it.each(scenarios)('$name: names $expected first, with evidence and a remedy', async ({ name, expected }) => {
    const report = await analyzeFolder(join(FIXTURES, name));
    const [top] = report.diagnosis.causes;
    expect(top?.id).toBe(expectedTopCause(expected));
    expect(top!.confidence).toBeGreaterThanOrEqual(0.8);
    expect(top!.evidence.length).toBeGreaterThan(0);
    expect(top!.remedy.text.length).toBeGreaterThan(10);
    const ranked = report.diagnosis.causes.map((c) => c.confidence);
    expect(ranked).toEqual([...ranked].sort((a, b) => b - a));
  });

  it('request_terminate_timeout: nginx, FPM and the access log agree', async () => {
    const report = await analyzeFolder(join(FIXTURES, 'request_terminate_timeout'));
    const top = report.diagnosis.causes[0]!;
    expect(top.sources).toEqual(expect.arrayContaining(['fpm.log', 'error.log', 'access.log']));
    expect(top.evidence.find((e) => e.source === 'fpm.log')!.text).toMatch(/killed \d+ workers? for running past request_terminate_timeout/);
    expect(top.remedy.setting).toBe('request_terminate_timeout');
  });

  it('a reset without the FPM log is named as ambiguous, with what would settle it', async () => {
    const report = await analyzeFolder(join(FIXTURES, 'request_terminate_timeout'), ['fpmLog']);
    const ids = report.diagnosis.causes.map((c) => c.id);
    expect(ids).toEqual(expect.arrayContaining(['request_terminate_timeout', 'worker_crash']));
    for (const cause of report.diagnosis.causes) {
      expect(cause.confidence).toBeLessThan(0.5);
      expect(cause.toConfirm?.[0]).toMatch(/FPM master log settles it/);
    }
  });

  it('worker_crash and request_terminate_timeout give the same nginx line; the FPM log tells them apart', async () => {
    const crash = await analyzeFolder(join(FIXTURES, 'worker_crash'));
    const timeout = await analyzeFolder(join(FIXTURES, 'request_terminate_timeout'));
    const kinds = (r: typeof crash) => r.errors!.signatures.filter((s) => s.status === 502).map((s) => s.kind);
    expect(kinds(crash)).toContain('reset_by_peer');
    expect(kinds(timeout)).toContain('reset_by_peer');
    expect(crash.diagnosis.causes[0]!.id).toBe('worker_crash');
    expect(crash.diagnosis.causes.map((c) => c.id)).not.toContain('request_terminate_timeout');
    expect(timeout.diagnosis.causes.map((c) => c.id)).not.toContain('worker_crash');
  });

  it('pool_exhausted suggests a pm.max_children derived from the data', async () => {
    const report = await analyzeFolder(join(FIXTURES, 'pool_exhausted'));
    const top = report.diagnosis.causes[0]!;
    expect(top.remedy.current).toBe('2');
    expect(Number(top.remedy.suggested)).toBeGreaterThanOrEqual(Math.ceil((report.access!.peakConcurrency ?? 0) * 1.25));
    expect(Number(top.remedy.suggested)).toBeGreaterThan(2);
  });

  it('header_too_big cites the current buffer and suggests a larger one', async () => {
    const top = (await analyzeFolder(join(FIXTURES, 'header_too_big'))).diagnosis.causes[0]!;
    expect(top.remedy).toMatchObject({ setting: 'fastcgi_buffer_size', current: '4k', suggested: '16k' });
  });

  it('says so when the access log does not match the log_format in use', async () => {
    const report = await analyzeFolder(join(FIXTURES, 'fpm_down_unix'), ['nginxConf']);
    expect(report.logFormat?.from).toBe('default');
    expect(report.diagnosis.notes.join(' ')).toMatch(/None of the \d+ access-log lines matched the log_format/);
    expect(report.diagnosis.causes[0]!.id).toBe('fpm_down');
  });

  it('joins error entries to access lines through the connection number', async () => {
    const report = await analyzeFolder(join(FIXTURES, 'header_too_big'));
    const joined = report.joins.find((j) => j.kind === 'too_big_header');
    expect(joined?.matched).toBeGreaterThan(0);
    expect(Object.keys(joined!.statuses)).toEqual(['502']);
    expect(joined!.topUris[0]!.uri).toBe('/bigheader.php');
  });

  it('says what is missing instead of guessing when only an access log is given', async () => {
    const report = await analyzeFolder(join(FIXTURES, 'fpm_down_unix'), ['error', 'fpmLog', 'slowLog', 'fpmStatus', 'fpmConf']);
    expect(report.access!.count502).toBeGreaterThan(0);
    expect(report.diagnosis.causes).toEqual([]);
    expect(report.diagnosis.failures.explained).toBe(false);
    expect(report.diagnosis.notes.join(' ')).toMatch(/no error log was read/i);
  });
});

describe('one answer per setting: cause remedies and config findings agree', () => {
  /** The first number (with its unit) a suggestion names for a setting, e.g. "3s", "16k". */
  const valueFor = (text: string, setting: string): string | null => {
    const m = new RegExp(`${setting}\\s*(?:=|to|from \\S+ to)?\\s*(\\d+(?:\\.\\d+)?\\s*[a-zA-Z]*)`).exec(text);
    return m ? m[1]!.replace(/\s+/g, '') : null;
  };

  it.each(scenarios)('$name: every setting both suggest gets the same value', async ({ name }) => {
    const report = await analyzeFolder(join(FIXTURES, name));
    let compared = 0;
    for (const cause of report.diagnosis.causes) {
      const remedy = `${cause.remedy.suggested ?? ''} ${cause.remedy.text}`;
      for (const finding of report.findings) {
        if (!finding.setting || finding.suggested === undefined) continue;
        const fromRemedy = valueFor(remedy, finding.setting);
        if (fromRemedy === null) continue;
        const fromFinding = valueFor(`${finding.setting} ${finding.suggested}`, finding.setting) ?? finding.suggested;
        expect(fromRemedy, `${cause.id} vs ${finding.id} on ${finding.setting}`).toBe(fromFinding.replace(/\s+/g, '').replace(/B$/, ''));
        compared++;
      }
    }
    // fastcgi_buffers travels with fastcgi_buffer_size: both texts name the same count and size.
    const buffersIn = (text: string) => [...text.matchAll(/fastcgi_buffers (\d+ \d+k)/g)].map((m) => m[1]);
    for (const cause of report.diagnosis.causes) {
      for (const finding of report.findings) {
        const [a, b] = [buffersIn(cause.remedy.text), buffersIn(`${finding.detail} ${finding.suggested ?? ''}`)];
        if (a.length && b.length) {
          expect(a, `${cause.id} vs ${finding.id}`).toEqual([b[0]]);
          compared++;
        }
      }
    }
    // Where the lab recorded both (the buffer fault), the comparison must have happened.
    if (name === 'header_too_big') expect(compared).toBeGreaterThan(0);
  });
});
