/** What a host discovery yields (src/collect/discover.ts), shared by the modules that derive, cache and use it. */
import type { Catalog } from '../catalog/index.js';
import type { Host, Sources } from '../config/index.js';
import type { FpmConfig, NginxConfig } from '../analyze/config/index.js';
import type { Executor } from '../exec/index.js';

export interface DiscoveryContext {
  executor: Executor;
  catalog: Catalog;
  host: Host;
  signal?: AbortSignal;
}

export type DiscoverableSource = 'accessLog' | 'errorLog' | 'fpmLog' | 'slowLog' | 'fpmStatusUrl';

export interface DiscoveredNginxMaster {
  pid: number;
  title: string;
  binary?: string;
  prefix?: string;
  conf?: string;
}

export interface DiscoveredFpmMaster {
  pid: number;
  title: string;
  binary?: string;
  conf?: string;
}

export interface Discovery {
  host: string;
  /** Epoch ms when it was taken. */
  at: number;
  /** What the host's own config says; badgateway.yaml still wins (see effectiveSources). */
  sources: Sources;
  nginx?: NginxConfig;
  fpm?: FpmConfig;
  /** Raw dumps, for the report. */
  nginxText?: string;
  fpmText?: string;
  /** The FPM pool nginx's PHP location passes to. */
  pool?: string;
  /** The masters whose configuration was read (absent when none runs). */
  nginxMaster?: DiscoveredNginxMaster;
  fpmMaster?: DiscoveredFpmMaster;
  /** The nginx / PHP-FPM binary found on the host, running or not (absent: none installed where looked). */
  nginxBinary?: string;
  fpmBinary?: string;
  /**
   * Whether any nginx / PHP-FPM master runs, whoever runs it: false only when the discovery script said
   * so and the process table shows none either; true when unknown (e.g. the script could not run).
   */
  running?: { nginx: boolean; fpm: boolean };
  /** For the responder: what could not be read or decided, one line each. */
  problems: string[];
  /** Sources left undetermined, and why. */
  missing: Array<{ source: DiscoverableSource; why: string }>;
  /**
   * The masters whose config was read, with their start times (bot clock, from ps's age), and where
   * nginx or PHP-FPM was not found, every master then running: a cached discovery holds only while the
   * same ones run (a stopped or restarted master, or one started where none ran, means rediscovery).
   * Absent when ps failed.
   */
  masters?: { read: MasterIdentity[]; all?: MasterIdentity[] };
}

/** A master process by pid and start: a restart gives a new start time even where the pid comes back. */
export interface MasterIdentity {
  pid: number;
  /** Epoch ms, within ps's one-second resolution. */
  startedAt: number;
}
