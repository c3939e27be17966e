/**
 * End to end on the real lab: each scenario drives real nginx + PHP-FPM into its failure, and the
 * analyze use case, reading the files the servers wrote, must name that failure.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mapLimit } from '../../src/exec/index.js';
import { SCENARIOS, type ScenarioResult } from '../lab/scenarios.js';
import { analyzeFolder, expectedTopCause } from './support.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function saveEvidence(result: ScenarioResult): string {
  const dir = mkdtempSync(join(tmpdir(), `badgateway-evidence-${result.name}-`));
  dirs.push(dir);
  writeFileSync(join(dir, 'access.log'), result.logs.access);
  writeFileSync(join(dir, 'error.log'), result.logs.error);
  writeFileSync(join(dir, 'fpm.log'), result.logs.fpmLog);
  writeFileSync(join(dir, 'slow.log'), result.logs.slowLog);
  writeFileSync(join(dir, 'nginx-T.txt'), result.nginxT);
  writeFileSync(join(dir, 'fpm-tt.txt'), result.fpmTT);
  if (result.fpmStatus) writeFileSync(join(dir, 'fpm-status.txt'), result.fpmStatus);
  return dir;
}

describe('diagnosis of live lab failures', () => {
  // Scenarios are independent labs on their own ports; three at a time keeps two cores busy, not swamped.
  const results = mapLimit(SCENARIOS, 3, async (scenario) => ({ scenario, result: await scenario.run() }));

  it.each(SCENARIOS.map((s) => s.name))('%s', async (name) => {
    const { scenario, result } = (await results).find((r) => r.scenario.name === name)!;
    const report = await analyzeFolder(saveEvidence(result));
    const top = report.diagnosis.causes[0];
    expect(top?.id, JSON.stringify(report.diagnosis.causes.map((c) => [c.id, c.confidence]))).toBe(expectedTopCause(scenario.expectedCause));
    expect(top!.confidence).toBeGreaterThanOrEqual(0.8);
  }, 120_000);
});
