/**
 * End to end on the real lab: each scenario drives real nginx + PHP-FPM into its failure, and the
 * analyze use case, reading the files the servers wrote, must name that failure.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mapLimit } from '../../src/exec/index.js';
import { SCENARIOS } from '../lab/scenarios.js';
import { analyzeFolder, expectedTopCause, removeSavedEvidence, saveEvidence } from './support.js';

afterAll(removeSavedEvidence);

describe('diagnosis of live lab failures', () => {
  // Scenarios are independent labs on their own ports; three at a time keeps two cores busy, not swamped.
  const results = mapLimit(SCENARIOS, 3, async (scenario) => ({ scenario, result: await scenario.run() }));

  it.each(SCENARIOS.map((s) => s.name))(
    '%s',
    async (name) => {
      const { scenario, result } = (await results).find((r) => r.scenario.name === name)!;
      const report = await analyzeFolder(saveEvidence(result));
      const top = report.diagnosis.causes[0];
      expect(top?.id, JSON.stringify(report.diagnosis.causes.map((c) => [c.id, c.confidence]))).toBe(expectedTopCause(scenario.expectedCause));
      expect(top!.confidence).toBeGreaterThanOrEqual(0.8);
    },
    120_000,
  );
});
