/** Evidence + diagnosis → Report: shared by `analyze` (local files) and `triage` (over SSH). */
import { configFindings, type Finding } from '../analyze/config/index.js';
import type { Evidence } from '../analyze/evidence.js';
import type { Window } from '../analyze/window.js';
import { formatDuration } from '../config/units.js';
import { diagnose, type Diagnosis } from '../diagnose/index.js';
import type { HostVitals } from '../collect/vitals.js';
import type { Report, SourceKey, SourceStatus } from './report.js';

export interface BuildReportInput {
  evidence: Evidence;
  sources: SourceStatus[];
  logFormat: Report['logFormat'];
  window: Window;
  /** The --since asked for, in ms, when the window was given that way. */
  since: number | null;
  /** The window's end was asked for (`--until`), not now or the files' newest entry. */
  until?: boolean;
  host?: string;
  /** What the host itself reported (triage only); its somaxconn feeds the backlog finding. */
  vitals?: HostVitals;
}

const SOURCE_ORDER: SourceKey[] = ['access', 'error', 'fpmLog', 'slowLog', 'fpmStatus', 'nginxConfig', 'fpmConfig'];

export function buildReport(input: BuildReportInput): Report {
  const { evidence } = input;
  const sources = [...input.sources].sort((a, b) => SOURCE_ORDER.indexOf(a.source) - SOURCE_ORDER.indexOf(b.source));
  return {
    host: input.host ?? null,
    generatedAt: Date.now(),
    window: {
      from: input.window.from ?? null,
      to: input.window.to ?? null,
      since: input.since !== null ? formatDuration(input.since) : null,
      until: input.until ?? false,
    },
    sources,
    logFormat: input.logFormat,
    access: evidence.access ?? null,
    errors: evidence.errors ?? null,
    fpm: {
      status: evidence.fpmStatus ?? null,
      statusError: evidence.fpmStatusError ?? null,
      log: evidence.fpmLog ?? null,
      slow: evidence.slowLog ?? null,
    },
    findings: findingsOf(evidence, input.vitals?.somaxconn ?? undefined),
    vitals: input.vitals ?? null,
    joins: evidence.joins ?? [],
    diagnosis: evidence.foreignAccessLog ? diagnose(evidence) : withAccessSource(diagnose(evidence), sources),
  };
}

/** "No access log was read" says more with the source's own state: missing, empty, unreadable, and where. */
function withAccessSource(diagnosis: Diagnosis, sources: readonly SourceStatus[]): Diagnosis {
  const access = sources.find((s) => s.source === 'access');
  if (diagnosis.verdict.status !== 'unknown' || !access || access.status === 'read' || diagnosis.headline) return diagnosis;
  const why = access.status === 'not given' ? 'no access log was given' : `the access log is ${access.status}: ${access.detail ?? access.path ?? 'no path was found for it'}`;
  return { ...diagnosis, verdict: { ...diagnosis.verdict, why } };
}

function findingsOf(evidence: Evidence, somaxconn: number | undefined): Finding[] {
  const { nginxConfig: nginx, fpmConfig: fpm, access } = evidence;
  if (!nginx && !fpm) return [];
  return configFindings({
    ...(nginx ? { nginx } : {}),
    ...(fpm ? { fpm } : {}),
    observed: {
      ...(access?.peakConcurrency != null ? { peakConcurrency: access.peakConcurrency } : {}),
      ...(access?.upstreamResponseTime.p99 != null ? { p99UpstreamSeconds: access.upstreamResponseTime.p99 } : {}),
      ...(access?.slowestUpstreamSeconds != null ? { maxUpstreamSeconds: access.slowestUpstreamSeconds } : {}),
      ...(evidence.errors ? { tooBigHeaderCount: evidence.errors.signatures.find((s) => s.kind === 'too_big_header')?.count ?? 0 } : {}),
      ...(evidence.fpmLog ? { maxChildrenReached: evidence.fpmLog.events.max_children_reached ?? 0 } : {}),
      ...(somaxconn !== undefined ? { somaxconn } : {}),
    },
  });
}
