/**
 * Unknown is a branch of its own in the default runbook: a triage that could not read an access log walks the
 * "could not see enough" step (which says what is missing), never the "no clear cause" one meant for a verdict.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRunbooks } from '../../src/runbook/format.js';
import { fillPlaceholders, placeholderValues } from '../../src/runbook/render.js';
import { nextStep, type SessionState } from '../../src/runbook/session.js';
import type { Report } from '../../src/triage/report.js';
import { analyzeFiles } from '../../src/triage/analyze-files.js';
import { REPO_ROOT } from '../support/config.js';

const runbook = loadRunbooks(join(REPO_ROOT, 'runbooks')).get('502-triage')!;

function state(report: Report | null): SessionState {
  return {
    schema: 1,
    runbookTitle: runbook.title,
    runbookHash: runbook.hash,
    host: 'web-03',
    surface: 'console',
    channel: 'console',
    thread: null,
    sinceMs: 900_000,
    startedBy: 'U1',
    startedAt: 0,
    report,
    triagedAt: 0,
    current: null,
    steps: [],
    timeline: [],
    endedAt: null,
    outcome: null,
  } as SessionState;
}

/** Every step the runbook shows, in order, for this report (no check results: check-based steps stay out). */
function walk(report: Report | null): string[] {
  const s = state(report);
  const shown: string[] = [];
  for (let step = nextStep(runbook, s, null, 0); step; step = nextStep(runbook, s, step.id, 0)) {
    shown.push(step.id);
    s.steps.push({ id: step.id, title: step.title, status: 'done', endedAt: 0, checks: [] } as SessionState['steps'][number]);
  }
  return shown;
}

describe('the default runbook on an unknown verdict', () => {
  it('takes the unknown branch and says what the triage needs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'badgateway-rb-'));
    writeFileSync(join(dir, 'error.log'), '');
    const report = await analyzeFiles({ access: join(dir, 'missing-access.log'), error: join(dir, 'error.log'), window: { kind: 'all' } });
    expect(report.diagnosis.verdict.status).toBe('unknown');
    const steps = walk(report);
    expect(steps).toContain('locate-unknown');
    expect(steps).not.toContain('locate-unclear');
    const step = runbook.steps.find((s) => s.id === 'locate-unknown')!;
    const text = fillPlaceholders(step.guidance, placeholderValues({ host: 'web-03', report, inventory: null, sinceMs: 900_000 }));
    expect(text).toMatch(/^No verdict: Unknown: the access log is missing: \S+missing-access.log does not exist\./);
    expect(text).toContain("What would settle it: nginx's access log for the window");
  });

  it('a triage that never ran is unknown too; a healthy one is not', async () => {
    expect(walk(null)).toContain('locate-unknown');
    const healthy = await analyzeFiles({
      access: join(REPO_ROOT, 'test', 'fixtures', 'lab', 'healthy', 'access.log'),
      error: join(REPO_ROOT, 'test', 'fixtures', 'lab', 'healthy', 'error.log'),
      nginxConf: join(REPO_ROOT, 'test', 'fixtures', 'lab', 'healthy', 'nginx-T.txt'),
      window: { kind: 'all' },
    });
    expect(healthy.diagnosis.verdict.status).toBe('healthy');
    const steps = walk(healthy);
    expect(steps).toContain('locate-unclear');
    expect(steps).not.toContain('locate-unknown');
  });
});
