/**
 * Diagnosis rules: each looks at the facts from every source and either names its cause, with
 * confidence, evidence and a remedy, or stays silent. nginx prints the same line for different causes
 * (a worker killed by request_terminate_timeout and a segfaulting worker both give
 * `recv() failed (104: Connection reset by peer)`), so rules that share a symptom consult the FPM
 * master log, and say what would settle it when that log is missing.
 */
import { bufferSuggestion, pickTerminate } from '../analyze/config/index.js';
import type { ErrorSignature } from '../analyze/errorlog/index.js';
import type { Cause, EvidenceItem, SourceName } from './types.js';
import { Facts, plural, samplesOf, seconds } from './facts.js';

export type Rule = (facts: Facts) => Cause | null;

function clamp(confidence: number): number {
  return Math.round(Math.min(0.98, Math.max(0.05, confidence)) * 100) / 100;
}

function sourcesOf(evidence: EvidenceItem[]): SourceName[] {
  return [...new Set(evidence.map((e) => e.source))];
}

/** `failures`: the error-log signatures the cause accounts for (how many, and the last one's time). */
function cause(partial: Omit<Cause, 'sources' | 'confidence'> & { confidence: number; failures?: readonly ErrorSignature[] }): Cause {
  const { failures, ...rest } = partial;
  const counted = failures?.length ? { explains: failures.reduce((n, s) => n + s.count, 0), lastSeen: Math.max(...failures.map((s) => s.lastSeen)) } : {};
  return { ...rest, ...counted, confidence: clamp(partial.confidence), sources: sourcesOf(partial.evidence) };
}

/** Access-log corroboration: the statuses users actually got. */
function accessItem(f: Facts, status: 502 | 504 | 'both', extra = ''): EvidenceItem[] {
  const access = f.evidence.access;
  const parts: string[] = [];
  if (status !== 504 && f.count502) parts.push(`${f.count502} × 502`);
  if (status !== 502 && f.count504) parts.push(`${f.count504} × 504`);
  if (!access || parts.length === 0) return [];
  const rate = (access.rate5xx * 100).toFixed(1);
  return [{ source: 'access.log', text: `${parts.join(', ')} of ${access.requests} requests (5xx rate ${rate}%)${extra}` }];
}

const RESET_KINDS = ['reset_by_peer', 'premature_close', 'broken_pipe'] as const;

export const fpmDown: Rule = (f) => {
  const sigs = f.fastcgiSignatures(['connect_enoent', 'connect_refused']);
  const count = sigs.reduce((n, s) => n + s.count, 0);
  if (count === 0) return null;
  const missingSocket = sigs.some((s) => s.kind === 'connect_enoent');
  const upstream = sigs[0]?.upstreams[0] ?? 'the FastCGI upstream';
  const evidence: EvidenceItem[] = [
    {
      source: 'error.log',
      text: `${plural(count, 'connect() failure')} to ${upstream}: ${missingSocket ? 'socket file missing (2: No such file or directory)' : 'connection refused (111)'}`,
      samples: samplesOf(sigs),
    },
    ...accessItem(f, 502),
  ];
  let confidence = 0.75 + 0.2 * f.share(count);
  if (f.evidence.fpmStatusError) {
    evidence.push({ source: 'fpm-status', text: `status page unreachable: ${f.evidence.fpmStatusError}` });
    confidence += 0.03;
  }
  const reloads = f.fpmEvents('reloading') + f.fpmEvents('terminating');
  if (reloads > 0) {
    evidence.push({ source: 'fpm.log', text: `FPM master log shows ${plural(reloads, 'stop/reload')} in the window`, samples: [...f.fpmSamples('terminating'), ...f.fpmSamples('reloading')].slice(0, 2) });
  }
  const listen = f.pool?.listen;
  return cause({
    id: 'fpm_down',
    failures: sigs,
    confidence,
    summary: `PHP-FPM is not accepting connections on ${upstream}: ${plural(count, 'connect() failure')}${missingSocket ? ' (socket file missing)' : ' (refused)'}.`,
    evidence,
    remedy: {
      text: missingSocket
        ? `Start PHP-FPM (systemctl start <php-fpm service>) and check that nginx's fastcgi_pass names the socket the pool creates${listen ? ` (listen = ${listen})` : ''}.`
        : `Start or restart PHP-FPM and check that it listens where fastcgi_pass points${listen ? ` (listen = ${listen})` : ''}.`,
      setting: 'fastcgi_pass / listen',
      ...(listen ? { current: listen } : {}),
    },
  });
};

export const socketPermission: Rule = (f) => {
  const sigs = f.signatures(['connect_eacces']);
  const count = sigs.reduce((n, s) => n + s.count, 0);
  if (count === 0) return null;
  const nginxUser = f.evidence.nginxConfig?.user?.name ?? 'www-data';
  const pool = f.pool;
  const current = pool ? `listen.owner=${pool.listenOwner ?? '?'} listen.group=${pool.listenGroup ?? '?'} listen.mode=${pool.listenMode ?? '?'}` : undefined;
  return cause({
    id: 'socket_permission',
    failures: sigs,
    confidence: 0.88 + 0.1 * f.share(count),
    summary: `nginx may not open the PHP-FPM socket: ${plural(count, 'connect()')} failed with 13: Permission denied.`,
    evidence: [
      { source: 'error.log', text: `${count} × connect() (13: Permission denied) to ${sigs[0]?.upstreams[0] ?? 'the socket'}`, samples: samplesOf(sigs) },
      ...accessItem(f, 502),
      ...(current ? [{ source: 'fpm-config' as const, text: `pool ${pool!.name}: ${current}; nginx workers run as ${nginxUser}` }] : []),
    ],
    remedy: {
      text: `Let nginx's user (${nginxUser}) open the socket: in the pool set listen.owner = ${nginxUser}, listen.group = ${nginxUser}, listen.mode = 0660, then reload PHP-FPM (also check SELinux/AppArmor if the modes look right).`,
      setting: 'listen.owner / listen.group / listen.mode',
      ...(current ? { current } : {}),
      suggested: `listen.owner = ${nginxUser}, listen.group = ${nginxUser}, listen.mode = 0660`,
    },
  });
};

export const headerTooBig: Rule = (f) => {
  const sigs = f.signatures(['too_big_header']);
  const count = sigs.reduce((n, s) => n + s.count, 0);
  if (count === 0) return null;
  const current = f.nginx?.fastcgi_buffer_size;
  // The same suggestion as the buffer_vs_header_size finding (nginx's 4k page is the default).
  const advice = bufferSuggestion(current ?? 4 * 1024, f.nginx?.fastcgi_buffers);
  const suggested = `${advice.next / 1024}k`;
  const uris = f.evidence.joins?.find((j) => j.kind === 'too_big_header')?.topUris ?? [];
  return cause({
    id: 'header_too_big',
    failures: sigs,
    confidence: 0.9 + 0.08 * f.share(count),
    summary: `The application sends response headers larger than nginx's buffer: ${plural(count, '"upstream sent too big header"')}.`,
    evidence: [
      { source: 'error.log', text: `${count} × upstream sent too big header while reading response header from upstream`, samples: samplesOf(sigs) },
      ...accessItem(f, 502, uris.length ? `; e.g. ${uris.map((u) => u.uri).join(', ')}` : ''),
      ...(current !== undefined ? [{ source: 'nginx-config' as const, text: `fastcgi_buffer_size is ${current / 1024}k` }] : []),
    ],
    remedy: {
      text: `Raise fastcgi_buffer_size to ${suggested}${advice.buffersLine ? ` (and ${advice.buffersLine}, which nginx -t requires with it)` : ''} in the PHP location, then reload nginx; also check why the app sends such headers (large Set-Cookie, CSP or Link headers).`,
      setting: 'fastcgi_buffer_size',
      ...(current !== undefined ? { current: `${current / 1024}k` } : {}),
      suggested,
    },
  });
};

export const invalidUpstreamResponse: Rule = (f) => {
  const sigs = f.signatures(['invalid_header', 'premature_fastcgi_stdout']);
  const count = sigs.reduce((n, s) => n + s.count, 0);
  if (count === 0) return null;
  return cause({
    id: 'invalid_upstream_response',
    failures: sigs,
    confidence: 0.8 + 0.15 * f.share(count),
    summary: `The upstream answered with something nginx cannot parse as a FastCGI/HTTP response (${plural(count, 'entry')}).`,
    evidence: [
      { source: 'error.log', text: `${count} × ${sigs.map((s) => s.kind).join(', ')} from ${sigs[0]?.upstreams[0] ?? 'the upstream'}`, samples: samplesOf(sigs) },
      ...accessItem(f, 502),
    ],
    remedy: {
      text: 'Check that fastcgi_pass points at PHP-FPM and not at an HTTP server or another service on that port, and that the application prints nothing before its headers.',
      setting: 'fastcgi_pass',
    },
  });
};

export const upstreamDown: Rule = (f) => {
  const noLive = f.signatures(['no_live_upstreams']);
  const proxyFailures = f.proxySignatures(['connect_refused', 'connect_unreachable', 'connect_etimedout', 'timeout_connect']);
  const count = [...noLive, ...proxyFailures].reduce((n, s) => n + s.count, 0);
  if (count === 0) return null;
  const group = noLive[0]?.upstreams[0] ?? proxyFailures[0]?.upstreams[0] ?? 'the upstream group';
  const evidence: EvidenceItem[] = [];
  if (noLive.length) evidence.push({ source: 'error.log', text: `${noLive.reduce((n, s) => n + s.count, 0)} × no live upstreams (${group})`, samples: samplesOf(noLive, 1) });
  if (proxyFailures.length) {
    evidence.push({ source: 'error.log', text: `${proxyFailures.reduce((n, s) => n + s.count, 0)} × connect failures to ${proxyFailures.flatMap((s) => s.upstreams).slice(0, 3).join(', ')}`, samples: samplesOf(proxyFailures, 1) });
  }
  const disabled = f.count(['upstream_disabled']);
  if (disabled) evidence.push({ source: 'error.log', text: `${disabled} × upstream server temporarily disabled` });
  const servers = [...new Set(proxyFailures.flatMap((s) => s.upstreams))];
  const onlyTimeouts = proxyFailures.every((s) => s.kind === 'timeout_connect' || s.kind === 'connect_etimedout');
  if (noLive.length === 0 && servers.length === 1 && onlyTimeouts) {
    // One proxy target that does not answer in time is a connect timeout, not a whole group down.
    return cause({
      id: 'upstream_connect_timeout',
      failures: proxyFailures,
      confidence: 0.7 + 0.25 * f.share(count),
      summary: `${servers[0]} did not accept connections within proxy_connect_timeout: ${plural(count, 'connect timeout')}.`,
      evidence: [...evidence, ...accessItem(f, 'both')],
      remedy: { text: `Check that ${servers[0]} is up and reachable (firewall, its accept queue), and what proxy_connect_timeout allows.`, setting: 'proxy_connect_timeout' },
    });
  }
  evidence.push(...accessItem(f, 502));
  // "Every server" only where nginx said so (no live upstreams); else what failed, by name.
  const summary = noLive.length
    ? `Every server of the upstream ${group} is failing; nginx has none left to send requests to.`
    : `nginx cannot connect to ${servers.slice(0, 3).join(', ')}${servers.length > 3 ? ` and ${servers.length - 3} more` : ''}: ${plural(count, 'connect failure')}.`;
  return cause({
    id: 'upstream_down',
    failures: [...noLive, ...proxyFailures],
    confidence: 0.75 + 0.2 * f.share(count),
    summary,
    evidence,
    remedy: {
      text: 'Bring the upstream servers back (they refuse or drop connections); nginx marks a server failed for fail_timeout after max_fails errors, so the 502s stop shortly after they recover.',
      setting: 'upstream servers',
    },
  });
};

export const upstreamConnectTimeout: Rule = (f) => {
  const sigs = f.fastcgiSignatures(['timeout_connect']);
  const count = sigs.reduce((n, s) => n + s.count, 0);
  if (count === 0) return null;
  const current = f.nginx?.fastcgi_connect_timeout;
  return cause({
    id: 'upstream_connect_timeout',
    failures: sigs,
    confidence: 0.7 + 0.25 * f.share(count),
    summary: `PHP-FPM did not accept connections within fastcgi_connect_timeout${current ? ` (${seconds(current)})` : ''}: ${plural(count, 'connect timeout')}.`,
    evidence: [
      { source: 'error.log', text: `${count} × upstream timed out while connecting to upstream (${sigs[0]?.upstreams[0] ?? 'upstream'})`, samples: samplesOf(sigs) },
      ...accessItem(f, 504),
    ],
    remedy: {
      text: "The FPM host or its accept queue does not take new connections: check the listen queue (ss -lnt), the pool's capacity (pm.max_children, listen.backlog) and the network path to the FPM host.",
      setting: 'fastcgi_connect_timeout',
      ...(current !== undefined ? { current: seconds(current) } : {}),
    },
  });
};

export const poolExhausted: Rule = (f) => {
  const eagain = f.signatures(['connect_eagain']);
  const eagainCount = eagain.reduce((n, s) => n + s.count, 0);
  const reached = f.fpmEvents('max_children_reached');
  const status = f.evidence.fpmStatus;
  const max = f.maxChildren;
  // The status request itself occupies a worker, so "no idle worker" alone proves nothing on a small pool.
  const saturated =
    status !== undefined &&
    ((max !== undefined && (status.activeProcesses ?? 0) >= max) ||
      (status.listenQueueMeaningful !== false && (status.listenQueue ?? 0) > 0));
  if (eagainCount === 0 && reached === 0 && !(saturated && f.failures + f.errorFailures > 0)) return null;
  const evidence: EvidenceItem[] = [];
  let confidence = 0.45;
  if (eagainCount) {
    evidence.push({ source: 'error.log', text: `${eagainCount} × connect() (11: Resource temporarily unavailable): the socket's listen backlog is full`, samples: samplesOf(eagain) });
    confidence += 0.3 + 0.15 * f.share(eagainCount);
  }
  if (reached) {
    evidence.push({ source: 'fpm.log', text: `FPM reached pm.max_children${max !== undefined ? ` (${max})` : ''} ${plural(reached, 'time')}`, samples: f.fpmSamples('max_children_reached').slice(0, 1) });
    confidence += 0.2;
  }
  if (status) {
    evidence.push({ source: 'fpm-status', text: `pool ${status.pool ?? '?'}: ${status.activeProcesses ?? '?'} active / ${status.totalProcesses ?? '?'} total, ${status.idleProcesses ?? '?'} idle, listen queue ${status.listenQueue ?? '?'}, max children reached ${status.maxChildrenReached ?? '?'}` });
    if (saturated) confidence += 0.1;
  } else if (f.evidence.fpmStatusError && (eagainCount || reached)) {
    evidence.push({ source: 'fpm-status', text: `status page did not answer (${f.evidence.fpmStatusError}): a saturated pool cannot serve it` });
    confidence += 0.03;
  }
  const timeouts = f.count(['timeout_read_header']);
  if (timeouts) evidence.push({ source: 'error.log', text: `${timeouts} × read timeouts, consistent with requests waiting for a free worker` });
  evidence.push(...accessItem(f, 'both'));
  const peak = f.evidence.access?.peakConcurrency ?? null;
  if (peak !== null) evidence.push({ source: 'access.log', text: `peak concurrency at the upstream about ${Math.round(peak)}` });
  const slow = f.slowSummary();
  if (slow) evidence.push({ source: 'slow.log', text: slow });
  const suggested = max !== undefined ? Math.max(max * 2, peak !== null ? Math.ceil(peak * 1.25) : 0) : undefined;
  return cause({
    id: 'pool_exhausted',
    failures: eagain,
    confidence,
    summary: `The PHP-FPM pool is exhausted: every worker is busy${max !== undefined ? ` (pm.max_children = ${max})` : ''} and new requests ${eagainCount ? 'are refused at the socket' : 'wait or time out'}.`,
    evidence,
    remedy: {
      text: `Raise pm.max_children${suggested !== undefined ? ` from ${max} to about ${suggested}` : ''} if memory allows (each worker costs its memory_limit at worst), and fix what keeps workers busy${slow ? ` (${slow})` : ' (see the slow log)'}.`,
      setting: 'pm.max_children',
      ...(max !== undefined ? { current: String(max) } : {}),
      ...(suggested !== undefined ? { suggested: String(suggested) } : {}),
    },
  });
};

export const fastcgiReadTimeout: Rule = (f) => {
  const sigs = f.fastcgiSignatures(['timeout_read_header', 'timeout_send']);
  const count = sigs.reduce((n, s) => n + s.count, 0);
  if (count === 0) return null;
  const current = f.nginx?.fastcgi_read_timeout;
  const terminate = f.pool?.requestTerminateTimeout;
  const evidence: EvidenceItem[] = [
    { source: 'error.log', text: `${count} × upstream timed out (110) while reading response header from ${sigs[0]?.upstreams[0] ?? 'upstream'}`, samples: samplesOf(sigs) },
    ...accessItem(f, 504, f.evidence.access?.slowestUpstreamSeconds ? `; slowest upstream time ${seconds(f.evidence.access.slowestUpstreamSeconds)}` : ''),
  ];
  let confidence = 0.6 + 0.3 * f.share(count);
  const slow = f.slowSummary();
  if (slow) {
    evidence.push({ source: 'slow.log', text: slow });
    confidence += 0.05;
  }
  if (current !== undefined) {
    evidence.push({ source: 'nginx-config', text: `fastcgi_read_timeout ${seconds(current)}; request_terminate_timeout ${terminate ? seconds(terminate) : 'off'}` });
  }
  // Requests queued behind a full pool also time out here; then the pool is the cause, not the timeout.
  if (f.fpmEvents('max_children_reached') > 0 || f.count(['connect_eagain']) > 0) confidence -= 0.2;
  return cause({
    id: 'fastcgi_read_timeout',
    failures: sigs,
    confidence,
    summary: `PHP takes longer than fastcgi_read_timeout${current !== undefined ? ` (${seconds(current)})` : ''} to answer: ${plural(count, 'read timeout')}, users get 504.`,
    evidence,
    remedy: {
      text:
        `Find and fix the slow code${slow ? ` (${slow})` : ' (enable request_slowlog_timeout to see it)'}; nginx gives up but the PHP worker keeps running. ` +
        `If such long requests are legitimate, raise fastcgi_read_timeout for that location, and set request_terminate_timeout to about three quarters of it (FPM's kill lands up to a third later) so FPM frees the worker.`,
      setting: 'fastcgi_read_timeout',
      ...(current !== undefined ? { current: seconds(current) } : {}),
      ...(current !== undefined ? { suggested: terminateAdvice(current) } : {}),
    },
  });
};

/** The config finding's own request_terminate_timeout for this read timeout (its kill must land before nginx gives up). */
function terminateAdvice(readTimeout: number): string {
  const t = pickTerminate(readTimeout);
  return t !== undefined
    ? `keep ${seconds(readTimeout)}, set request_terminate_timeout = ${t}s (FPM's kill lands by ${seconds((t * 4) / 3)})`
    : `raise fastcgi_read_timeout first (at ${seconds(readTimeout)} no request_terminate_timeout can kill before nginx gives up)`;
}

/** nginx-side evidence shared by request_terminate_timeout and worker_crash. */
function resetEvidence(f: Facts): { count: number; items: EvidenceItem[] } {
  const sigs = f.fastcgiSignatures([...RESET_KINDS]);
  const count = sigs.reduce((n, s) => n + s.count, 0);
  const items: EvidenceItem[] = count
    ? [{ source: 'error.log', text: `${count} × ${[...new Set(sigs.map((s) => s.kind))].join(' / ')} while reading response header (worker went away mid-request)`, samples: samplesOf(sigs) }]
    : [];
  return { count, items };
}

const AMBIGUOUS_RESET =
  "The FPM master log settles it: 'execution timed out ... terminating' means request_terminate_timeout, 'exited on signal 11/9' means crashing or OOM-killed workers.";

export const requestTerminateTimeout: Rule = (f) => {
  const reset = resetEvidence(f);
  const killed = f.fpmEvents('execution_timed_out');
  const terminate = f.pool?.requestTerminateTimeout;
  if (killed === 0) {
    if (reset.count === 0 || f.hasFpmLog) return null;
    return cause({
      id: 'request_terminate_timeout',
      confidence: 0.35,
      summary: `PHP workers die mid-request (${plural(reset.count, 'reset')}); request_terminate_timeout is one of two likely causes.`,
      evidence: [...reset.items, ...accessItem(f, 502)],
      remedy: { text: 'Read the FPM master log to tell a timeout kill from a crash before changing anything.', setting: 'request_terminate_timeout' },
      toConfirm: [AMBIGUOUS_RESET],
    });
  }
  const terminations = f.evidence.fpmLog?.terminations ?? [];
  const scripts = [...new Set(terminations.map((t) => t.script).filter((s): s is string => !!s))].slice(0, 3);
  const longest = Math.max(0, ...terminations.map((t) => t.seconds ?? 0));
  const evidence: EvidenceItem[] = [
    { source: 'fpm.log', text: `FPM killed ${plural(killed, 'worker')} for running past request_terminate_timeout${scripts.length ? ` (${scripts.join(', ')})` : ''}`, samples: f.fpmSamples('execution_timed_out').slice(0, 2) },
    ...reset.items,
    ...accessItem(f, 502),
  ];
  const slow = f.slowSummary();
  if (slow) evidence.push({ source: 'slow.log', text: slow });
  const readTimeout = f.nginx?.fastcgi_read_timeout;
  return cause({
    id: 'request_terminate_timeout',
    confidence: 0.65 + (reset.count > 0 ? 0.25 : 0) + (f.count502 > 0 ? 0.05 : 0),
    summary: `PHP-FPM kills requests that run past request_terminate_timeout${terminate ? ` (${seconds(terminate)})` : ''}: ${plural(killed, 'kill')}, users get 502.`,
    evidence,
    remedy: {
      text: `Fix the slow script${scripts.length ? ` (${scripts[0]})` : ''}${slow ? `; ${slow}` : ''}. If it must run that long, raise request_terminate_timeout above ${seconds(longest || terminate)} but keep it below fastcgi_read_timeout${readTimeout !== undefined ? ` (${seconds(readTimeout)})` : ''}.`,
      setting: 'request_terminate_timeout',
      ...(terminate !== undefined ? { current: seconds(terminate) } : {}),
    },
  });
};

export const workerCrash: Rule = (f) => {
  const reset = resetEvidence(f);
  const signals = f.evidence.fpmLog?.signals ?? [];
  const killedByFpm = f.fpmEvents('execution_timed_out');
  // SIGTERM exits are FPM's own timeout kills when it logged "execution timed out" for them.
  const crashes = signals.reduce((n, s) => n + (s.signal === 15 ? 0 : s.count), 0) +
    Math.max(0, (signals.find((s) => s.signal === 15)?.count ?? 0) - killedByFpm);
  if (crashes === 0) {
    if (reset.count === 0 || f.hasFpmLog) return null;
    return cause({
      id: 'worker_crash',
      confidence: 0.35,
      summary: `PHP workers die mid-request (${plural(reset.count, 'reset')}); a crash or OOM kill is one of two likely causes.`,
      evidence: [...reset.items, ...accessItem(f, 502)],
      remedy: { text: 'Read the FPM master log (and dmesg for OOM kills) to tell a crash from a timeout kill.', setting: 'FPM master log' },
      toConfirm: [AMBIGUOUS_RESET],
    });
  }
  const bySignal = signals.filter((s) => s.signal !== 15 || s.count > killedByFpm).map((s) => `${s.name} × ${s.signal === 15 ? s.count - killedByFpm : s.count}`);
  const oom = signals.some((s) => s.signal === 9);
  const segv = signals.some((s) => s.signal === 11 || s.signal === 7 || s.signal === 6);
  const evidence: EvidenceItem[] = [
    { source: 'fpm.log', text: `${plural(crashes, 'worker')} exited on a signal: ${bySignal.join(', ')}`, samples: f.fpmSamples('exited_on_signal').slice(0, 2) },
    ...reset.items,
    ...accessItem(f, 502),
  ];
  const threshold = f.fpmEvents('failed_threshold');
  if (threshold) evidence.push({ source: 'fpm.log', text: `emergency_restart_threshold reached ${plural(threshold, 'time')}: FPM restarted itself` });
  return cause({
    id: 'worker_crash',
    confidence: 0.6 + (reset.count > 0 ? 0.3 : 0) + (f.count502 > 0 ? 0.05 : 0),
    summary: `PHP-FPM workers are crashing mid-request (${bySignal.join(', ')}); nginx sees the connection reset and answers 502.`,
    evidence,
    remedy: {
      text: segv
        ? 'A PHP extension or PHP itself segfaults: look for core dumps and the request that triggers it, and disable recently changed extensions (opcache JIT, xdebug, imagick...).'
        : oom
          ? 'Workers are killed with SIGKILL, usually by the kernel OOM killer: check dmesg, lower pm.max_children or memory_limit, or add memory.'
          : 'Something kills PHP workers: check who sends the signal (OOM killer, a watchdog, a deploy script).',
      setting: segv ? 'PHP extensions' : 'pm.max_children / memory_limit',
    },
  });
};

export const RULES: readonly Rule[] = [
  socketPermission,
  fpmDown,
  headerTooBig,
  invalidUpstreamResponse,
  upstreamDown,
  upstreamConnectTimeout,
  poolExhausted,
  fastcgiReadTimeout,
  requestTerminateTimeout,
  workerCrash,
];
