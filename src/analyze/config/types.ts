/**
 * Result shapes of the config parsers. Everything is plain data (no Maps, no classes) so results can be
 * cached as JSON, diffed between runs and shipped to chat unchanged.
 */

/** Where a value came from: nginx merges settings at block end, so the responder needs to know which block to edit. */
export interface NginxSource {
  context: string;
  file: string;
  line: number;
}

/** Effective upstream settings of one context. Durations are seconds, sizes bytes. */
export interface NginxUpstreamSettings {
  fastcgi_read_timeout: number;
  fastcgi_connect_timeout: number;
  fastcgi_send_timeout: number;
  proxy_read_timeout: number;
  proxy_connect_timeout: number;
  proxy_send_timeout: number;
  fastcgi_buffer_size: number;
  fastcgi_buffers: { count: number; size: number };
  proxy_buffer_size: number;
  fastcgi_next_upstream: string[];
  proxy_next_upstream: string[];
}

export type NginxSettingName = keyof NginxUpstreamSettings;

export interface NginxEffectiveSettings {
  values: NginxUpstreamSettings;
  /** Only settings written somewhere in the http → server → location chain; absent = nginx default. */
  setAt: Partial<Record<NginxSettingName, NginxSource>>;
}

export interface NginxLogFormat {
  escape: 'default' | 'json' | 'none';
  /** Parts concatenated after nginx unescaping: the exact template nginx compiles. */
  format: string;
  builtin?: boolean;
}

export interface NginxAccessLog {
  path: string;
  format: string;
  context: string;
  syslog?: boolean;
  /** `if=` condition: lines are only written when it is true, so counts may under-represent traffic. */
  condition?: string;
  file: string;
  line: number;
}

export interface NginxErrorLog {
  path: string;
  level: string;
  context: string;
  syslog?: boolean;
  file: string;
  line: number;
}

export interface NginxLocation {
  /** e.g. `server app.local:80 location ~ \.php$` - used verbatim in findings. */
  label: string;
  /** The location arguments as written, e.g. `~ \.php$`. */
  match: string;
  modifier: '' | '=' | '~' | '~*' | '^~' | '@';
  path: string;
  /** match of the enclosing location for nested locations. */
  parent?: string;
  fastcgiPass?: string;
  proxyPass?: string;
  settings: NginxEffectiveSettings;
  file: string;
  line: number;
}

export interface NginxServer {
  label: string;
  listen: string[];
  serverName: string[];
  settings: NginxEffectiveSettings;
  locations: NginxLocation[];
  file: string;
  line: number;
}

export interface NginxUpstreamServer {
  address: string;
  weight: number;
  maxFails: number;
  failTimeout: number;
  backup: boolean;
  down: boolean;
  maxConns?: number;
}

export interface NginxUpstream {
  name: string;
  context: 'http' | 'stream';
  servers: NginxUpstreamServer[];
  keepalive?: number;
  file: string;
  line: number;
}

export interface NginxConfig {
  /** Files in the order nginx dumped them (its parse order). */
  files: string[];
  user?: { name: string; group?: string };
  workerProcesses?: string;
  workerRlimitNofile?: number;
  workerConnections?: number;
  logFormats: Record<string, NginxLogFormat>;
  accessLogs: NginxAccessLog[];
  errorLogs: NginxErrorLog[];
  /** Effective values at http level (what a server without overrides gets). */
  http: NginxEffectiveSettings;
  servers: NginxServer[];
  upstreams: NginxUpstream[];
  /** Assumptions made while filling defaults. */
  notes: string[];
  /** From nginx's own `test is successful` / `test failed` line; absent when the input does not include it. */
  testOk?: boolean;
  /** Lines nginx itself printed on stderr (`[warn]`, `[emerg]`, `test failed`). */
  messages: string[];
  /** Problems in the input text; the result is partial when non-empty. */
  warnings: string[];
}

export interface FpmGlobalConfig {
  pid?: string;
  errorLog?: string;
  logLevel?: string;
  emergencyRestartThreshold?: number;
  emergencyRestartInterval?: number;
  processControlTimeout?: number;
  processMax?: number;
  rlimitFiles?: number;
  /** Every key as printed/written, `undefined` values dropped. */
  settings: Record<string, string>;
}

export interface FpmPoolConfig {
  name: string;
  listen?: string;
  /** -1 = "as large as the kernel allows" (net.core.somaxconn) on Linux. */
  listenBacklog?: number;
  listenOwner?: string;
  listenGroup?: string;
  listenMode?: string;
  listenAllowedClients?: string;
  user?: string;
  group?: string;
  pm?: string;
  pmMaxChildren?: number;
  pmStartServers?: number;
  pmMinSpareServers?: number;
  pmMaxSpareServers?: number;
  pmMaxRequests?: number;
  pmProcessIdleTimeout?: number;
  pmStatusPath?: string;
  pingPath?: string;
  /** Seconds; 0 = off. */
  requestTerminateTimeout?: number;
  /** Seconds; 0 = off. */
  requestSlowlogTimeout?: number;
  slowlog?: string;
  catchWorkersOutput?: boolean;
  /** Seconds, from php_admin_value (preferred, scripts cannot raise it) or php_value. */
  maxExecutionTime?: number;
  maxExecutionTimeFrom?: 'php_admin_value' | 'php_value';
  memoryLimit?: string;
  /** -1 = unlimited. */
  memoryLimitBytes?: number;
  phpValues: Record<string, string>;
  phpAdminValues: Record<string, string>;
  settings: Record<string, string>;
}

export interface FpmConfig {
  /** `tt` = effective dump of `php-fpm -tt`; `ini` = raw config files (defaults filled in by us). */
  source: 'tt' | 'ini';
  global: FpmGlobalConfig;
  pools: FpmPoolConfig[];
  /** `include=` globs seen in ini input (not followed: the parsers do no I/O). */
  includes: string[];
  /** true/false when the dump says the test succeeded/failed; absent when it does not say. */
  testOk?: boolean;
  /** WARNING/ERROR/ALERT lines FPM printed. */
  messages: string[];
  warnings: string[];
}

export type Severity = 'info' | 'warn' | 'critical';

export interface Finding {
  id: string;
  severity: Severity;
  /** One line, written for the on-call responder. */
  summary: string;
  detail: string;
  setting?: string;
  current?: string;
  suggested?: string;
  /** Which pool/location this applies to when the same id can fire more than once. */
  scope?: string;
}

export interface ObservedLoad {
  /** Peak number of requests in flight to PHP (e.g. from access-log overlap). */
  peakConcurrency?: number;
  p99UpstreamSeconds?: number;
  maxUpstreamSeconds?: number;
  /** net.core.somaxconn of the FPM host. */
  somaxconn?: number;
  /** Count of `upstream sent too big header` in error.log. */
  tooBigHeaderCount?: number;
  /** `max children reached` (status page) or count of `server reached ... max_children` log lines. */
  maxChildrenReached?: number;
}

export interface ConfigFindingsInput {
  nginx?: NginxConfig;
  fpm?: FpmConfig;
  observed?: ObservedLoad;
}

/** One nginx location that hands requests to PHP, with the pool(s) its fastcgi_pass reaches. */
export interface PhpRoute {
  server: string;
  location: string;
  fastcgiPass: string;
  /** Pool names whose listen matches; empty when none does (or FPM config unknown). */
  pools: string[];
  /** Subset of pools reached only through `backup` servers of an upstream group. */
  backupOnlyPools: string[];
  /** false when the target is a variable or a remote host we cannot judge. */
  resolvable: boolean;
  settings: NginxUpstreamSettings;
}
