/** Runs the analyze use case over a folder of evidence laid out like test/fixtures/lab/<scenario>/. */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScenarioResult } from '../lab/scenarios.js';
import { analyzeFiles, type AnalyzeFilesInput } from '../../src/triage/analyze-files.js';
import type { Report } from '../../src/triage/report.js';

export const EVIDENCE_FILES = {
  access: 'access.log',
  error: 'error.log',
  fpmLog: 'fpm.log',
  slowLog: 'slow.log',
  fpmStatus: 'fpm-status.txt',
  nginxConf: 'nginx-T.txt',
  fpmConf: 'fpm-tt.txt',
} as const;

export type EvidenceName = keyof typeof EVIDENCE_FILES;

export function analyzeFolder(dir: string, leaveOut: EvidenceName[] = []): Promise<Report> {
  const input: AnalyzeFilesInput = { window: { kind: 'all' } };
  for (const [name, file] of Object.entries(EVIDENCE_FILES) as Array<[EvidenceName, string]>) {
    const path = join(dir, file);
    if (!leaveOut.includes(name) && existsSync(path)) input[name] = path;
  }
  return analyzeFiles(input);
}

/** The lab's `php_fatal` scenario yields 500s: the bot must call it healthy as far as 502/504 go. */
export function expectedTopCause(expected: string): string {
  return expected === 'php_fatal' ? 'healthy' : expected;
}

const saved: string[] = [];

/** Writes a scenario's evidence into a fresh folder laid out for analyzeFolder; removeSavedEvidence() cleans up. */
export function saveEvidence(result: ScenarioResult): string {
  const dir = mkdtempSync(join(tmpdir(), `badgateway-evidence-${result.name}-`));
  saved.push(dir);
  writeFileSync(join(dir, EVIDENCE_FILES.access), result.logs.access);
  writeFileSync(join(dir, EVIDENCE_FILES.error), result.logs.error);
  writeFileSync(join(dir, EVIDENCE_FILES.fpmLog), result.logs.fpmLog);
  writeFileSync(join(dir, EVIDENCE_FILES.slowLog), result.logs.slowLog);
  writeFileSync(join(dir, EVIDENCE_FILES.nginxConf), result.nginxT);
  writeFileSync(join(dir, EVIDENCE_FILES.fpmConf), result.fpmTT);
  if (result.fpmStatus) writeFileSync(join(dir, EVIDENCE_FILES.fpmStatus), result.fpmStatus);
  return dir;
}

export function removeSavedEvidence(): void {
  for (const dir of saved.splice(0)) rmSync(dir, { recursive: true, force: true });
}
