/**
 * Facts the rules share, computed once from the evidence: counts per error kind, the PHP pool and
 * nginx location that serve the traffic, and FPM events. Keeps each rule short and declarative.
 */
import type { ErrorKind, ErrorSignature } from '../analyze/errorlog/index.js';
import type { Evidence } from '../analyze/evidence.js';
import type { FpmPoolConfig, NginxUpstreamSettings } from '../analyze/config/index.js';
import { phpRoutes } from '../analyze/config/index.js';
import type { FpmEventKind } from '../analyze/fpm/index.js';

/** Error kinds that make nginx answer 502/504 themselves (the ones a diagnosis must explain). */
export const UPSTREAM_FAILURE_KINDS: readonly ErrorKind[] = [
  'connect_enoent',
  'connect_eacces',
  'connect_refused',
  'connect_eagain',
  'connect_unreachable',
  'connect_etimedout',
  'connect_other',
  'timeout_connect',
  'timeout_send',
  'timeout_read_header',
  'premature_close',
  'reset_by_peer',
  'broken_pipe',
  'io_error',
  'premature_fastcgi_stdout',
  'too_big_header',
  'invalid_header',
  'no_live_upstreams',
];

export class Facts {
  readonly evidence: Evidence;
  readonly failures: number;
  readonly count502: number;
  readonly count504: number;
  /** Upstream failure entries in the error log (the denominator of "how much a cause explains"). */
  readonly errorFailures: number;
  readonly pool: FpmPoolConfig | undefined;
  readonly nginx: NginxUpstreamSettings | undefined;

  constructor(evidence: Evidence) {
    this.evidence = evidence;
    this.count502 = evidence.access?.count502 ?? 0;
    this.count504 = evidence.access?.count504 ?? 0;
    this.failures = this.count502 + this.count504;
    this.errorFailures = this.count(UPSTREAM_FAILURE_KINDS);
    const routes = evidence.nginxConfig ? phpRoutes(evidence.nginxConfig, evidence.fpmConfig) : [];
    const poolName = routes.find((r) => r.pools.length > 0)?.pools[0];
    this.pool = evidence.fpmConfig?.pools.find((p) => p.name === poolName) ?? evidence.fpmConfig?.pools[0];
    this.nginx = routes[0]?.settings ?? evidence.nginxConfig?.http.values;
  }

  signatures(kinds: readonly ErrorKind[]): ErrorSignature[] {
    return (this.evidence.errors?.signatures ?? []).filter((s) => kinds.includes(s.kind));
  }

  count(kinds: readonly ErrorKind[]): number {
    return this.signatures(kinds).reduce((sum, s) => sum + s.count, 0);
  }

  /** Signatures whose upstream is a FastCGI one (PHP-FPM) rather than an HTTP proxy. */
  fastcgiSignatures(kinds: readonly ErrorKind[]): ErrorSignature[] {
    return this.signatures(kinds).filter((s) => s.upstreams.length === 0 || s.upstreams.some((u) => u.startsWith('fastcgi://')));
  }

  proxySignatures(kinds: readonly ErrorKind[]): ErrorSignature[] {
    return this.signatures(kinds).filter((s) => s.upstreams.some((u) => /^https?:\/\//.test(u)));
  }

  /** Share of the error log's upstream failures that these entries account for. */
  share(count: number): number {
    return this.errorFailures > 0 ? Math.min(1, count / this.errorFailures) : 0;
  }

  fpmEvents(kind: FpmEventKind): number {
    return this.evidence.fpmLog?.events[kind] ?? 0;
  }

  fpmSamples(kind: FpmEventKind): string[] {
    return this.evidence.fpmLog?.samples[kind] ?? [];
  }

  /** pm.max_children from the config, or as quoted by the FPM log. */
  get maxChildren(): number | undefined {
    return this.pool?.pmMaxChildren ?? this.evidence.fpmLog?.maxChildrenSetting;
  }

  /** The error log was read and looked like one: a file of garbage is not evidence of health. */
  get readableErrors(): boolean {
    const errors = this.evidence.errors;
    return errors !== undefined && (errors.entries > 0 || errors.unparsed === 0);
  }

  /** The access log was read and its lines matched the log_format. */
  get readableAccess(): boolean {
    const access = this.evidence.access;
    return access !== undefined && (access.parsed > 0 || access.unparsed === 0);
  }

  get hasFpmLog(): boolean {
    return this.evidence.fpmLog !== undefined && this.evidence.fpmLog.lines > 0;
  }

  /** Slowest scripts and frames from the slow log, as one readable line. */
  slowSummary(): string | undefined {
    const slow = this.evidence.slowLog;
    if (!slow || slow.inWindow === 0) return undefined;
    const script = slow.byScript[0];
    const frame = slow.byUserFrame[0] ?? slow.byTopFrame[0];
    const parts = [`${slow.inWindow} slow-log entr${slow.inWindow === 1 ? 'y' : 'ies'}`];
    if (script) parts.push(`most from ${script.script} (${script.count})`);
    if (frame) parts.push(`top frame ${frame.frame}`);
    return parts.join(', ');
  }
}

export function samplesOf(signatures: readonly ErrorSignature[], max = 2): string[] {
  return signatures.flatMap((s) => s.samples).slice(0, max);
}

export function seconds(value: number | null | undefined): string {
  if (value === null || value === undefined) return '?';
  return value >= 10 ? `${Math.round(value)}s` : `${Number(value.toFixed(2))}s`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
