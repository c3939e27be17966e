/**
 * Whether the configured sources belong to the nginx that runs on the host. A configured access log that the
 * running nginx does not write (another instance's, a copy from another server, an old path) would give another
 * server's traffic as this host's; the triage then says Unknown instead of reading it as evidence.
 */
import type { Sources } from '../config/index.js';
import { resolveAgainst } from './discover-sources.js';
import type { Discovery } from './discover-types.js';

/** Why the configured access log is not the running nginx's; null when it is, or when that cannot be told. */
export function foreignAccessLog(configured: Sources, discovery: Discovery): string | null {
  const path = configured.accessLog;
  const nginx = discovery.nginx;
  if (path === undefined || !discovery.nginxMaster || !nginx) return null;
  const files = nginx.accessLogs.filter((l) => !l.syslog);
  // Paths built from variables, or no access_log at all (nginx's compiled-in default): nothing to compare with.
  if (files.length === 0 || files.some((l) => l.path.includes('$'))) return null;
  const written = files.map((l) => resolveAgainst(l.path, discovery.nginxMaster?.prefix));
  if (written.includes(undefined)) return null;
  if (written.includes(path)) return null;
  const list = [...new Set(written)].slice(0, 3).join(', ');
  return `the configured access log ${path} is not one the running nginx (pid ${discovery.nginxMaster.pid}) writes: its config names ${list}`;
}
