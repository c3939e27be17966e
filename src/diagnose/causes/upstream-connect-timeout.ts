/**
 * upstream_connect_timeout: the upstream did not accept the connection in time: PHP-FPM within
 * fastcgi_connect_timeout, or a lone proxy target within proxy_connect_timeout.
 */
import type { ErrorKind } from '../../analyze/errorlog/index.js';
import { accessItem, claim, countOf, type CauseDefinition } from '../claim.js';
import { type Facts, plural, samplesOf, seconds } from '../facts.js';
import type { Cause } from '../types.js';

export const PROXY_CONNECT_FAILURES: readonly ErrorKind[] = ['connect_refused', 'connect_unreachable', 'connect_etimedout', 'timeout_connect'];
const TIMEOUT_KINDS: readonly ErrorKind[] = ['timeout_connect', 'connect_etimedout'];

/** One proxy target that only timed out, and no "no live upstreams": a slow accept, not a whole group down. */
export function loneProxyTimeout(f: Facts): boolean {
  const failures = f.proxySignatures(PROXY_CONNECT_FAILURES);
  const servers = new Set(failures.flatMap((s) => s.upstreams));
  return failures.length > 0 && f.count(['no_live_upstreams']) === 0 && servers.size === 1 && failures.every((s) => TIMEOUT_KINDS.includes(s.kind));
}

function proxyTimeout(f: Facts): Cause | null {
  if (!loneProxyTimeout(f)) return null;
  const sigs = f.proxySignatures(PROXY_CONNECT_FAILURES);
  const server = sigs[0]!.upstreams[0]!;
  const count = countOf(sigs);
  return claim({
    id: 'upstream_connect_timeout',
    failures: sigs,
    confidence: 0.7 + 0.25 * f.share(count),
    summary: `${server} did not accept connections within proxy_connect_timeout: ${plural(count, 'connect timeout')}.`,
    evidence: [{ source: 'error.log', text: `${count} × connect timeouts to ${server}`, samples: samplesOf(sigs, 1) }, ...accessItem(f, 'both')],
    remedy: { text: `Check that ${server} is up and reachable (firewall, its accept queue), and what proxy_connect_timeout allows.`, setting: 'proxy_connect_timeout' },
  });
}

function fastcgiTimeout(f: Facts): Cause | null {
  const sigs = f.fastcgiSignatures(['timeout_connect']);
  const count = countOf(sigs);
  if (count === 0) return null;
  const current = f.nginx?.fastcgi_connect_timeout;
  return claim({
    id: 'upstream_connect_timeout',
    failures: sigs,
    confidence: 0.7 + 0.25 * f.share(count),
    summary: `PHP-FPM did not accept connections within fastcgi_connect_timeout${current ? ` (${seconds(current)})` : ''}: ${plural(count, 'connect timeout')}.`,
    evidence: [{ source: 'error.log', text: `${count} × upstream timed out while connecting to upstream (${sigs[0]?.upstreams[0] ?? 'upstream'})`, samples: samplesOf(sigs) }, ...accessItem(f, 504)],
    remedy: {
      text: "The FPM host or its accept queue does not take new connections: check the listen queue (ss -lnt), the pool's capacity (pm.max_children, listen.backlog) and the network path to the FPM host.",
      setting: 'fastcgi_connect_timeout',
      ...(current !== undefined ? { current: seconds(current) } : {}),
    },
  });
}

export const upstreamConnectTimeout: CauseDefinition = {
  id: 'upstream_connect_timeout',
  words: 'nginx could not connect to the upstream in time',
  runbookStep: 'fix-upstream',
  rule: (f) => fastcgiTimeout(f) ?? proxyTimeout(f),
};
