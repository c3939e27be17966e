/**
 * The harder lab incidents (test/lab/hard-scenarios.ts), driven for real, and the verdict each must get from the
 * files the servers wrote: both causes when two hold, a stopped failure said to have stopped, three failures
 * among thousands as a note rather than an outage, and a down pool named without blaming the one that serves.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mapLimit } from '../../src/exec/index.js';
import type { Report } from '../../src/triage/report.js';
import { HARD_SCENARIOS } from '../lab/hard-scenarios.js';
import type { ScenarioResult } from '../lab/scenarios.js';
import { analyzeFolder, removeSavedEvidence, saveEvidence } from './support.js';

afterAll(removeSavedEvidence);

// All four at once: the restart scenario spends most of its 40 s waiting on steady traffic.
const reports = mapLimit(HARD_SCENARIOS, 4, async (scenario) => {
  const result = await scenario.run();
  return { name: scenario.name, result, report: await analyzeFolder(saveEvidence(result)) };
});

async function reportOf(name: string): Promise<{ result: ScenarioResult; report: Report }> {
  return (await reports).find((r) => r.name === name)!;
}

const ranked = (r: Report) => JSON.stringify(r.diagnosis.causes.map((c) => [c.id, c.confidence, c.explains]));

describe('harder live incidents', () => {
  it('a full pool together with read timeouts: both shown, ranked by the failures each explains', async () => {
    const { result, report } = await reportOf('pool_and_read_timeouts');
    const holding = report.diagnosis.causes.filter((c) => c.confidence >= 0.5);
    expect(holding.map((c) => c.id).sort(), `${ranked(report)} ${result.notes.join('; ')}`).toEqual(['fastcgi_read_timeout', 'pool_exhausted']);
    expect(holding[0]!.explains!).toBeGreaterThanOrEqual(holding[1]!.explains!);
    expect(report.diagnosis.causes.slice(0, 2)).toEqual(holding);
  }, 180_000);

  it('a short PHP-FPM restart inside steady traffic is reported as over, with less confidence', async () => {
    const { result, report } = await reportOf('short_fpm_restart');
    const top = report.diagnosis.causes[0]!;
    expect(top.id, ranked(report)).toBe('fpm_down');
    expect(top.summary, result.notes.join('; ')).toMatch(/ Last at \d\d:\d\d:\d\dZ, none since while \d+ requests were served\.$/);
    expect(top.confidence).toBeLessThan(0.9);
  }, 180_000);

  it('three failures among 2,000 requests are an isolated note, not an outage', async () => {
    const { report } = await reportOf('three_failures_among_2000');
    const top = report.diagnosis.causes[0]!;
    expect(report.access?.requests).toBeGreaterThanOrEqual(2000);
    expect(report.access?.count502).toBe(3);
    expect(top.id, ranked(report)).toBe('worker_crash');
    expect(top.confidence).toBeLessThan(0.5);
    expect(top.summary).toMatch(/^Isolated: 3 failures of this kind among 200\d requests \(0\.1%\), too few to say "PHP-FPM workers crashed"/);
  }, 180_000);

  it('two pools with one down: the down pool is named, not the one that serves', async () => {
    const { result, report } = await reportOf('two_pools_one_down');
    const top = report.diagnosis.causes[0]!;
    expect(top.id, ranked(report)).toBe('fpm_down');
    expect(top.summary).toContain('api-fpm.sock');
    expect(top.summary).not.toContain(result.fpmListen);
    expect(report.access?.count502).toBe(4);
  }, 180_000);
});
