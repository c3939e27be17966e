/**
 * Evidence: everything the analyzers extracted for one host and window, as plain data.
 * The diagnosis reads only this; it never sees raw logs or I/O.
 */
import type { AccessStats, ConnectionEntry } from './access/index.js';
import type { FpmConfig, NginxConfig } from './config/index.js';
import type { ErrorKind, ErrorLogStats } from './errorlog/index.js';
import type { FpmLogStats, FpmStatus, SlowLogStats } from './fpm/index.js';

/** Error-log kinds joined to access-log lines through nginx's connection number (`*N` = `$connection`). */
export interface ConnectionJoin {
  kind: ErrorKind;
  /** Error entries of this kind whose connection appears in the access log window. */
  matched: number;
  statuses: Record<string, number>;
  topUris: Array<{ uri: string; count: number }>;
}

export interface Evidence {
  access?: AccessStats;
  errors?: ErrorLogStats;
  fpmLog?: FpmLogStats;
  slowLog?: SlowLogStats;
  fpmStatus?: FpmStatus;
  /** Why the status page could not be read (a saturated pool cannot answer it: that is evidence too). */
  fpmStatusError?: string;
  nginxConfig?: NginxConfig;
  fpmConfig?: FpmConfig;
  joins?: ConnectionJoin[];
  /**
   * true: the nginx master that writes this access log was seen running (triage), so a window without
   * requests is no traffic, not a log nobody writes any more. false: no nginx master runs on the host at
   * all, so the log describes a past nginx, not the present. Unset where nothing says (files read after the fact).
   */
  nginxRunning?: boolean;
  /** Why the configured access log is not this host's nginx's (then it is not read as evidence). */
  foreignAccessLog?: string;
}

export function joinByConnection(access: ReadonlyMap<number, ConnectionEntry>, errors: Readonly<Record<string, ErrorKind>>): ConnectionJoin[] {
  const byKind = new Map<ErrorKind, { matched: number; statuses: Map<string, number>; uris: Map<string, number> }>();
  for (const [cid, kind] of Object.entries(errors)) {
    const line = access.get(Number(cid));
    if (!line) continue;
    let join = byKind.get(kind);
    if (!join) {
      join = { matched: 0, statuses: new Map(), uris: new Map() };
      byKind.set(kind, join);
    }
    join.matched++;
    const status = String(line.status);
    join.statuses.set(status, (join.statuses.get(status) ?? 0) + 1);
    if (line.uri) join.uris.set(line.uri, (join.uris.get(line.uri) ?? 0) + 1);
  }
  return [...byKind.entries()]
    .map(([kind, j]) => ({
      kind,
      matched: j.matched,
      statuses: Object.fromEntries(j.statuses),
      topUris: [...j.uris.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([uri, count]) => ({ uri, count })),
    }))
    .sort((a, b) => b.matched - a.matched);
}
