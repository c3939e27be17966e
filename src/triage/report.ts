/** The Report: everything one analysis or triage found, as plain data for every renderer. */
import type { AccessStats } from '../analyze/access/index.js';
import type { Finding } from '../analyze/config/index.js';
import type { ErrorLogStats } from '../analyze/errorlog/index.js';
import type { ConnectionJoin } from '../analyze/evidence.js';
import type { FpmLogStats, FpmStatus, SlowLogStats } from '../analyze/fpm/index.js';
import type { Diagnosis } from '../diagnose/index.js';
import type { HostVitals } from '../collect/vitals.js';

export type SourceKey = 'access' | 'error' | 'fpmLog' | 'slowLog' | 'fpmStatus' | 'nginxConfig' | 'fpmConfig';

export interface SourceStatus {
  source: SourceKey;
  path: string | null;
  status: 'read' | 'not given' | 'missing' | 'empty' | 'unreadable' | 'invalid';
  detail?: string;
  /** Bytes read from disk or the wire. */
  bytes?: number;
  /** nginxConfig, fpmConfig: the binary of the master whose configuration was read (advice names it, not a guess). */
  binary?: string;
  /** fpmConfig: the pid of the running master it was read from (absent: no master runs; the default config was read). */
  masterPid?: number;
}

export interface Report {
  host: string | null;
  generatedAt: number;
  /** `until`: the end was asked for (`--until`) rather than now or the files' newest entry. */
  window: { from: number | null; to: number | null; since: string | null; until: boolean };
  sources: SourceStatus[];
  /** The log_format used for the access log and where it came from. */
  logFormat: { spec: string; from: 'option' | 'nginx-config' | 'default' } | null;
  access: AccessStats | null;
  errors: ErrorLogStats | null;
  fpm: { status: FpmStatus | null; statusError: string | null; log: FpmLogStats | null; slow: SlowLogStats | null };
  findings: Finding[];
  /** Load, memory, OOM kills, somaxconn, open-file limits: null when the host was not asked (analyze). */
  vitals: HostVitals | null;
  joins: ConnectionJoin[];
  diagnosis: Diagnosis;
}
