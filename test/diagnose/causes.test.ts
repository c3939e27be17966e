/**
 * One place per cause: every stable cause id has exactly one module, and the runbook step that module names
 * exists in the default runbook and branches on that id.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAUSE_IDS, CAUSE_WORDS, CAUSES } from '../../src/diagnose/index.js';
import { loadRunbooks, type Condition } from '../../src/runbook/format.js';
import { REPO_ROOT } from '../support/config.js';

function causesNamed(c: Condition | null): string[] {
  if (!c) return [];
  return [...(c.cause ?? []), ...(c.anyCause ?? []), ...(c.any ?? []).flatMap(causesNamed), ...(c.all ?? []).flatMap(causesNamed)];
}

describe('cause modules', () => {
  it('cover every cause id once, each with its words', () => {
    expect(CAUSES.map((c) => c.id).sort()).toEqual([...CAUSE_IDS].sort());
    for (const id of CAUSE_IDS) expect(CAUSE_WORDS[id], id).toMatch(/\w{3}/);
  });

  it('name a step of the default runbook that branches on their id', () => {
    const runbook = loadRunbooks(join(REPO_ROOT, 'runbooks')).get('502-triage')!;
    for (const cause of CAUSES) {
      const step = runbook.steps.find((s) => s.id === cause.runbookStep);
      expect(step, `${cause.id}: step ${cause.runbookStep}`).toBeDefined();
      expect(causesNamed(step!.when), `${cause.id}: step ${cause.runbookStep}`).toContain(cause.id);
    }
  });
});
