/** `--json`: the Report as one JSON object (the analyzers' output is the contract). */
import { scrubDeep } from './scrub.js';
import type { Report } from '../triage/report.js';

export function renderJson(report: Report): string {
  return JSON.stringify(scrubDeep(report));
}
