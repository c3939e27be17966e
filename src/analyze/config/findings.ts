/**
 * Config findings: turns effective nginx/FPM settings (plus what the logs showed) into statements a responder can
 * act on: which limit fires first, what status it produces, and which value to change. The rules follow nginx's
 * upstream timeouts and PHP-FPM's request_terminate_timeout heartbeat as observed on the real lab
 * (test/lab/FINDINGS.md).
 */
import type { ConfigFindingsInput, Finding, FpmConfig, FpmPoolConfig, NginxConfig, NginxSource, NginxUpstreamSettings, ObservedLoad, PhpRoute, Severity } from './types.js';
import { NGINX_DEFAULTS } from './nginx.js';
import { ANY_HOSTS, fpmListen, isLoopback, nginxTarget, reaches } from './endpoint.js';
import { formatSeconds, formatSize } from './units.js';

/**
 * Every nginx location with fastcgi_pass, and the FPM pool(s) it reaches. Upstream group names are expanded
 * to their servers; variables and remote hosts stay unresolved because we cannot see their config.
 */
export function phpRoutes(nginx: NginxConfig, fpm?: FpmConfig): PhpRoute[] {
  const routes: PhpRoute[] = [];
  for (const server of nginx.servers) {
    for (const loc of server.locations) {
      if (loc.fastcgiPass === undefined) continue;
      const target = loc.fastcgiPass;
      let addrs: { address: string; backup: boolean }[] = [{ address: target, backup: false }];
      const group = nginx.upstreams.find((u) => u.context === 'http' && u.name === target);
      if (group) addrs = group.servers.filter((s) => !s.down).map((s) => ({ address: s.address, backup: s.backup }));
      const endpoints = addrs.map((a) => ({ e: nginxTarget(a.address), backup: a.backup }));
      const pools = new Set<string>();
      const primary = new Set<string>();
      for (const pool of fpm?.pools ?? []) {
        const fe = pool.listen !== undefined ? fpmListen(pool.listen) : undefined;
        if (!fe) continue;
        for (const { e, backup } of endpoints) {
          if (e === undefined || !reaches(e, fe)) continue;
          pools.add(pool.name);
          if (!backup) primary.add(pool.name);
        }
      }
      const local = endpoints.every(({ e }) => e !== undefined && (e.kind === 'unix' || isLoopback(e.host)));
      routes.push({
        server: server.label,
        location: loc.label,
        fastcgiPass: target,
        pools: [...pools],
        backupOnlyPools: [...pools].filter((p) => !primary.has(p)),
        resolvable: pools.size > 0 || local,
        settings: loc.settings.values,
      });
    }
  }
  return routes;
}

/** How nginx must write a pool's listen in fastcgi_pass (bare FPM ports mean "all addresses"). */
function passFor(listen: string | undefined): string {
  if (listen === undefined) return '<pool listen>';
  const e = fpmListen(listen);
  if (!e) return listen;
  if (e.kind === 'unix') return `unix:${e.path}`;
  const host = ANY_HOSTS.has(e.host) ? '127.0.0.1' : e.host.includes(':') ? `[${e.host}]` : e.host;
  return `${host}:${e.port}`;
}

function where(s: NginxSource | undefined): string {
  return s ? `set in ${s.context} (${s.file}:${s.line})` : 'nginx default';
}

function severityOf(base: Severity, escalate: boolean): Severity {
  return escalate ? 'critical' : base;
}

/** Largest terminate timeout whose worst-case kill time (T + T/3 heartbeat) still lands before nginx gives up. */
/**
 * The request_terminate_timeout (whole seconds) whose kill lands before nginx gives up: FPM checks on a
 * T/3 heartbeat, so the kill comes between T and 4T/3, which must stay under fastcgi_read_timeout.
 * One function for the config finding and the cause's remedy, so a report never gives two answers.
 */
export function pickTerminate(readTimeout: number): number | undefined {
  let t = Math.floor((readTimeout * 3) / 4);
  while (t > 0 && (t * 4) / 3 >= readTimeout) t--;
  return t >= 1 ? t : undefined;
}

interface TimeoutContext {
  pool: FpmPoolConfig;
  read: number;
  readSource: string;
  locations: string[];
  attributable: boolean;
}

function timeoutFindings(tc: TimeoutContext, observed: ObservedLoad): Finding[] {
  const { pool, read: R } = tc;
  const T = pool.requestTerminateTimeout ?? 0;
  const M = pool.maxExecutionTime;
  const scope = `pool ${pool.name}${tc.locations.length > 0 ? ` ← ${tc.locations.join(', ')}` : ''}`;
  const p = `[pool ${pool.name}]`;
  const rs = formatSeconds(R);
  const metText =
    M === undefined
      ? "max_execution_time is not set in the pool, so FPM's php.ini decides (30s in php.ini-production)"
      : M === 0
        ? `max_execution_time is 0 (unlimited, from ${pool.maxExecutionTimeFrom})`
        : `max_execution_time is ${M}s (from ${pool.maxExecutionTimeFrom}${pool.maxExecutionTimeFrom === 'php_value' ? '; scripts can raise it with set_time_limit' : ''})`;
  const cpuNote = 'On Linux (NTS builds) max_execution_time counts CPU time only, so it never stops a script waiting on a DB, HTTP call, sleep() or a session lock.';
  const order = 'Safe order: max_execution_time < request_terminate_timeout < fastcgi_read_timeout (< client/LB timeout).';
  const readLine = `fastcgi_read_timeout is ${rs} (${tc.readSource}).`;
  const obs: string[] = [];
  const firstLimit = T > 0 && (T * 4) / 3 < R ? T : R;
  let happening = false;
  if (observed.maxUpstreamSeconds !== undefined) {
    // Observed times are host-wide; only blame this pool when nginx demonstrably routes to it (or it is alone).
    happening = tc.attributable && observed.maxUpstreamSeconds >= firstLimit * 0.95;
    obs.push(`Observed max upstream time ${formatSeconds(observed.maxUpstreamSeconds)}${happening ? ' - requests are reaching this limit now' : ''}.`);
  }
  if (observed.p99UpstreamSeconds !== undefined && observed.p99UpstreamSeconds >= firstLimit * 0.8) {
    obs.push(`p99 upstream time ${formatSeconds(observed.p99UpstreamSeconds)} is within 20% of the ${formatSeconds(firstLimit)} limit.`);
  }
  const suggestedT = pickTerminate(R);
  const suggestT = suggestedT !== undefined ? `${suggestedT}s` : `raise fastcgi_read_timeout first (it is only ${rs})`;
  const metVsT =
    suggestedT !== undefined && M !== undefined && (M === 0 || M >= suggestedT)
      ? ` Also lower max_execution_time below ${suggestedT}s (e.g. ${Math.max(1, Math.floor((suggestedT * 2) / 3))}) so CPU-bound scripts fail with a logged PHP fatal first.`
      : '';
  const cpuAlso = M !== undefined && (M === 0 || M >= R) ? ` CPU-bound scripts also outlive nginx (${metText}), so they end as 504 too.` : '';

  if (T === 0 || T >= R) {
    const killText =
      T === 0
        ? 'request_terminate_timeout is 0 (off), so the FPM worker keeps running the script after nginx gave up'
        : `request_terminate_timeout is ${formatSeconds(T)}, so FPM only kills the worker ${formatSeconds(T)}-${formatSeconds((T * 4) / 3)} after start, long after nginx gave up`;
    return [
      {
        id: 'timeout_hierarchy',
        severity: severityOf('warn', happening),
        summary:
          T === 0
            ? `${p} PHP stuck on I/O past ${rs} gets a 504 from nginx while the FPM worker keeps running (request_terminate_timeout off)`
            : `${p} Slow PHP gets a 504 at ${rs} but FPM only kills it at ${formatSeconds(T)}: workers stay busy after nginx gave up`,
        detail: [
          readLine,
          `For a script blocked in I/O nginx fires first: error.log shows "upstream timed out (110: Connection timed out) while reading response header from upstream", access log 504 with $upstream_response_time ≈ ${rs} and $upstream_header_time "-".`,
          `${killText}; busy-but-abandoned workers shrink the pool and cascade into more 504s under load.`,
          cpuNote + cpuAlso,
          `${metText}.`,
          order,
          ...obs,
          `Suggested: request_terminate_timeout = ${suggestT} (FPM checks every T/3, so the kill lands by 4T/3 < ${rs}), turning these into 502 + "execution timed out" in the FPM log and freeing the worker.${metVsT}`,
        ].join(' '),
        setting: 'request_terminate_timeout',
        current: T === 0 ? '0 (off)' : formatSeconds(T),
        suggested: suggestT,
        scope,
      },
    ];
  }
  if ((T * 4) / 3 >= R) {
    return [
      {
        id: 'timeout_hierarchy',
        severity: severityOf('warn', happening),
        summary: `${p} request_terminate_timeout ${formatSeconds(T)} is too close to fastcgi_read_timeout ${rs}: slow requests end as 502 or 504 at random`,
        detail: [
          readLine,
          `FPM checks request_terminate_timeout on a heartbeat of T/3, so the SIGTERM lands between ${formatSeconds(T)} and ${formatSeconds((T * 4) / 3)}; nginx gives up at ${rs}, inside that window.`,
          'Expect a mix of 504 "upstream timed out ... while reading response header" and 502 "upstream prematurely closed connection" with FPM "execution timed out" for the same kind of request.',
          cpuNote,
          `${metText}.`,
          order,
          ...obs,
          `Suggested: request_terminate_timeout = ${suggestT}, or raise fastcgi_read_timeout above ${formatSeconds(Math.ceil((T * 4) / 3) + 1)}.${metVsT}`,
        ].join(' '),
        setting: 'request_terminate_timeout',
        current: formatSeconds(T),
        suggested: suggestT,
        scope,
      },
    ];
  }
  // FPM fires before nginx for I/O-bound scripts: the intended order. Check the CPU-bound side.
  const expectation: Finding = {
    id: 'timeout_expectation',
    severity: 'info',
    summary: `${p} PHP stuck past ~${formatSeconds(T)} is killed by FPM: expect 502 "upstream prematurely closed connection" plus FPM "execution timed out"`,
    detail: [
      readLine,
      `request_terminate_timeout ${formatSeconds(T)} fires first (kill lands ${formatSeconds(T)}-${formatSeconds((T * 4) / 3)}, before nginx's ${rs}).`,
      'nginx logs "upstream prematurely closed connection while reading response header from upstream" (or "recv() failed (104: Connection reset by peer)"), access log 502 with $upstream_response_time ≈ the kill time; the FPM log has "execution timed out (N sec), terminating" and "exited on signal 15 (SIGTERM)" at the same second.',
      cpuNote,
      `${metText}.`,
      ...obs,
    ].join(' '),
    setting: 'request_terminate_timeout',
    current: formatSeconds(T),
    scope,
  };
  if (M !== undefined && (M === 0 || M >= T)) {
    const suggestedM = Math.max(1, Math.floor((T * 2) / 3));
    return [
      {
        id: 'timeout_hierarchy',
        severity: severityOf('warn', happening),
        summary: `${p} max_execution_time ${M === 0 ? '0 (unlimited)' : `${M}s`} is not below request_terminate_timeout ${formatSeconds(T)}: CPU-heavy scripts die as 502 (SIGTERM) instead of a logged PHP fatal`,
        detail: [
          readLine,
          `request_terminate_timeout ${formatSeconds(T)} fires before nginx, so I/O-bound scripts end as 502 + FPM "execution timed out" - fine.`,
          `But ${metText}, so a CPU-bound script is also SIGTERMed by FPM instead of failing with "Maximum execution time of N seconds exceeded" (a 500 with the script and line in the log).`,
          order,
          ...obs,
        ].join(' '),
        setting: 'max_execution_time',
        current: M === 0 ? '0 (unlimited)' : `${M}`,
        suggested: `${suggestedM}`,
        scope,
      },
      expectation,
    ];
  }
  return [expectation];
}

/**
 * pm.max_children to suggest: the observed peak plus 25% headroom (at least one more than now), or +50% as a start
 * when no peak was measured. One function for the config finding and the pool_exhausted remedy.
 */
export function suggestMaxChildren(current: number, peakConcurrency: number | undefined): number {
  return peakConcurrency !== undefined ? Math.max(current + 1, Math.ceil(peakConcurrency * 1.25)) : Math.ceil(current * 1.5);
}

function maxChildrenFindings(pools: FpmPoolConfig[], observed: ObservedLoad): Finding[] {
  const peak = observed.peakConcurrency;
  const reached = observed.maxChildrenReached ?? 0;
  const sized = pools.filter((p) => p.pmMaxChildren !== undefined && p.pmMaxChildren > 0);
  if (sized.length === 0 || (peak === undefined && reached <= 0)) return [];
  const total = sized.reduce((a, p) => a + (p.pmMaxChildren ?? 0), 0);
  const single = sized.length === 1 ? sized[0]! : undefined;
  const names = sized.map((p) => p.name).join(', ');
  const label = single ? `[pool ${single.name}]` : `[pools ${names}]`;
  let severity: Severity | undefined;
  const facts: string[] = [];
  const suggestedN = suggestMaxChildren(total, peak);
  if (peak !== undefined) {
    if (peak > total) severity = 'critical';
    else if (peak >= total * 0.9) severity = 'warn';
    facts.push(`Observed peak concurrency ${peak} vs pm.max_children ${total}${single ? '' : ' (sum over pools)'}.`);
  }
  if (reached > 0) {
    severity = severity ?? 'warn';
    facts.push(`FPM reported reaching max_children ${reached} time(s) (each count is an episode, not one request).`);
  }
  if (severity === undefined) return [];
  const ml = single?.memoryLimitBytes;
  const memNote =
    ml !== undefined && ml > 0
      ? ` Check RAM first: ${suggestedN} workers × memory_limit ${single?.memoryLimit} is a worst case of ${((suggestedN * ml) / 1024 ** 3).toFixed(1)} GiB; size by real per-worker RSS (ps -eo rss,args | grep "php-fpm: pool").`
      : ' Check RAM first: size by real per-worker RSS (ps -eo rss,args | grep "php-fpm: pool") times the new value.';
  const staticNote = sized.some((p) => p.pm === 'static')
    ? ' Under pm = static FPM never logs "server reached pm.max_children" and "max children reached" stays 0, so saturation only shows as active == total on the status page.'
    : '';
  return [
    {
      id: 'max_children_vs_concurrency',
      severity,
      summary:
        peak !== undefined && peak >= total
          ? `${label} ${peak} concurrent PHP requests at peak but only ${total} workers: the rest wait in the backlog and time out as 504 (or 502 EAGAIN on a full unix socket)`
          : peak !== undefined
            ? `${label} peak ${peak} concurrent PHP requests is within 10% of pm.max_children ${total}: the pool is about to saturate`
            : `${label} FPM hit pm.max_children (${total}) ${reached} time(s): requests queue and time out as 504`,
      detail: [
        ...facts,
        'When every worker is busy, new requests wait in the listen backlog; that wait counts against fastcgi_read_timeout (504 with $upstream_connect_time ≈ 0 and $upstream_header_time "-"), and a full unix-socket backlog fails instantly with 502 "connect() ... failed (11: Resource temporarily unavailable)".',
        `Suggested pm.max_children ${suggestedN}${peak !== undefined ? ' (peak + 25% headroom)' : ' (+50% as a starting point; measure peak concurrency to size it properly)'}${single ? '' : ', split across the pools by their share of traffic'}. Adding workers only helps if PHP is waiting on I/O, not if the DB/CPU behind it is the bottleneck.${memNote}${staticNote}`,
      ].join(' '),
      setting: 'pm.max_children',
      current: String(total),
      suggested: String(suggestedN),
      scope: single ? `pool ${single.name}` : `pools ${names}`,
    },
  ];
}

function backlogFindings(pool: FpmPoolConfig, observed: ObservedLoad): Finding[] {
  const S = observed.somaxconn;
  if (S === undefined) return [];
  const B = pool.listenBacklog;
  const unix = pool.listen?.startsWith('/') ?? false;
  const effect = unix
    ? 'once it is full nginx gets 502 "connect() to unix:... failed (11: Resource temporarily unavailable)" immediately'
    : 'once it is full new connections are dropped and nginx waits for fastcgi_connect_timeout (504) or gets 502';
  if (B !== undefined && B > S) {
    return [
      {
        id: 'backlog_vs_somaxconn',
        severity: 'warn',
        summary: `[pool ${pool.name}] listen.backlog ${B} is silently capped to net.core.somaxconn ${S}`,
        detail: `The kernel truncates listen() backlogs to net.core.somaxconn without any log line, so at most ${S} requests can queue for ${pool.name}; ${effect}. Raise the sysctl (persist it in /etc/sysctl.d/) and restart FPM, or lower listen.backlog to what you really get.`,
        setting: 'net.core.somaxconn',
        current: String(S),
        suggested: String(B),
        scope: `pool ${pool.name}`,
      },
    ];
  }
  if ((B === undefined || B < 0) && S < 512) {
    return [
      {
        id: 'backlog_vs_somaxconn',
        severity: 'info',
        summary: `[pool ${pool.name}] effective listen backlog is only ${S} (listen.backlog -1 means "kernel maximum" = net.core.somaxconn)`,
        detail: `FPM asks for the largest backlog and the kernel caps it at net.core.somaxconn ${S}; bursts beyond pm.max_children + ${S} requests fail: ${effect}. Raising net.core.somaxconn (e.g. 4096, the default since Linux 5.4) absorbs short bursts; it does not add capacity.`,
        setting: 'net.core.somaxconn',
        current: String(S),
        suggested: '4096',
        scope: `pool ${pool.name}`,
      },
    ];
  }
  return [];
}

const BUFFER_STEPS = [16 * 1024, 32 * 1024, 64 * 1024];

/**
 * The next fastcgi_buffer_size after `current`, and the fastcgi_buffers nginx -t then requires (busy
 * buffers, 2 × max(buffer_size, buffers.size), must stay under (count-1) × buffers.size). One function
 * for the config finding and the cause's remedy.
 */
export function bufferSuggestion(current: number, buffers: { count: number; size: number } = NGINX_DEFAULTS.fastcgi_buffers) {
  const next = BUFFER_STEPS.find((s) => s > current) ?? current * 2;
  const needBuffers = 2 * Math.max(next, buffers.size) > (buffers.count - 1) * buffers.size;
  const bufCount = Math.max(buffers.count, 4);
  const suggested = needBuffers ? `${formatSize(next)} (with fastcgi_buffers ${bufCount} ${formatSize(next)})` : formatSize(next);
  return { next, needBuffers, bufCount, suggested, buffersLine: needBuffers ? `fastcgi_buffers ${bufCount} ${formatSize(next)}` : null };
}

function bufferFindings(nginx: NginxConfig | undefined, routes: PhpRoute[], observed: ObservedLoad): Finding[] {
  const count = observed.tooBigHeaderCount ?? 0;
  if (count <= 0) return [];
  const settings: NginxUpstreamSettings[] = routes.length > 0 ? routes.map((r) => r.settings) : [nginx?.http.values ?? NGINX_DEFAULTS];
  // Which location overflowed is unknown from a count, so size for the smallest buffer a PHP location has.
  const current = Math.min(...settings.map((s) => s.fastcgi_buffer_size));
  const distinct = [...new Set(settings.map((s) => s.fastcgi_buffer_size))].sort((a, b) => a - b);
  const buffers = settings.find((s) => s.fastcgi_buffer_size === current)?.fastcgi_buffers ?? NGINX_DEFAULTS.fastcgi_buffers;
  const { next, needBuffers, bufCount, suggested } = bufferSuggestion(current, buffers);
  const proxied = nginx?.servers.some((s) => s.locations.some((l) => l.proxyPass !== undefined)) ?? false;
  const src =
    nginx === undefined
      ? 'nginx config not provided; 4k default assumed'
      : routes.length > 0
        ? distinct.length > 1
          ? `smallest of ${distinct.map(formatSize).join('/')} on the PHP locations`
          : 'on the PHP locations'
        : 'http level';
  return [
    {
      id: 'buffer_vs_header_size',
      severity: 'warn',
      summary: `${count} × 502 "upstream sent too big header": PHP response headers exceed fastcgi_buffer_size ${formatSize(current)}`,
      detail: [
        `The whole response header (typically large Set-Cookie, CSP or Link headers) must fit in fastcgi_buffer_size, ${formatSize(current)} (${src}); when it does not nginx returns 502 and logs "upstream sent too big header while reading response header from upstream".`,
        `Suggested: fastcgi_buffer_size ${formatSize(next)};${needBuffers ? ` fastcgi_buffers ${bufCount} ${formatSize(next)};` : ''}${needBuffers ? ' (fastcgi_buffers must grow too, otherwise nginx -t fails with "fastcgi_busy_buffers_size must be less than the size of all fastcgi_buffers minus one buffer")' : ''}; then nginx -t and reload. Also worth asking why the app sends such headers.`,
        proxied ? 'Locations using proxy_pass have the same limit in proxy_buffer_size.' : '',
      ]
        .filter((s) => s !== '')
        .join(' '),
      setting: 'fastcgi_buffer_size',
      current: formatSize(current),
      suggested,
    },
  ];
}

function statusPageFinding(pool: FpmPoolConfig, multi: boolean): Finding[] {
  if (pool.pmStatusPath !== undefined) return [];
  const path = multi ? `/fpm-status-${pool.name}` : '/fpm-status';
  return [
    {
      id: 'status_page_missing',
      severity: 'info',
      summary: `[pool ${pool.name}] pm.status_path is not set: triage cannot read active/idle workers, listen queue or "max children reached"`,
      detail: `Without the FPM status page the bot cannot tell a saturated pool from a slow backend. Set pm.status_path = ${path} (and optionally ping.path = /fpm-ping), then expose it to localhost only, e.g. location = ${path} { allow 127.0.0.1; deny all; include fastcgi_params; fastcgi_param SCRIPT_NAME ${path}; fastcgi_pass ${passFor(pool.listen)}; }. Note that queue counters are 0 on unix sockets (FPM only measures them for TCP).`,
      setting: 'pm.status_path',
      current: 'unset',
      suggested: path,
      scope: `pool ${pool.name}`,
    },
  ];
}

function slowlogFinding(pool: FpmPoolConfig, firstLimit: number): Finding[] {
  const t = pool.requestSlowlogTimeout ?? 0;
  if (t > 0 && pool.slowlog !== undefined) return [];
  const suggestedT = Math.max(1, Math.min(10, Math.floor(firstLimit / 4)));
  return [
    {
      id: 'slowlog_missing',
      severity: 'info',
      summary: `[pool ${pool.name}] slowlog is off: when requests hang there is no stack trace showing the blocking call`,
      detail: `With request_slowlog_timeout > 0 FPM writes the PHP backtrace of any request running longer (e.g. curl_exec(), mysqli_query(), flock()) to the slowlog and logs "executing too slow"; the request itself continues. Suggested: request_slowlog_timeout = ${suggestedT}s and slowlog = /var/log/php-fpm/${pool.name}.slow.log. In containers FPM needs CAP_SYS_PTRACE for this ("ptrace(ATTACH) failed").`,
      setting: 'request_slowlog_timeout',
      current: t > 0 ? `${formatSeconds(t)} (slowlog path unset)` : '0 (off)',
      suggested: `${suggestedT}s`,
      scope: `pool ${pool.name}`,
    },
  ];
}

function pmModeFindings(pool: FpmPoolConfig): Finding[] {
  if (pool.pm === 'static') {
    return [
      {
        id: 'pm_static_caveat',
        severity: 'info',
        summary: `[pool ${pool.name}] pm = static: FPM never logs "server reached pm.max_children", so saturation is invisible in the FPM log`,
        detail: `All ${pool.pmMaxChildren ?? 'pm.max_children'} workers are always running and "max children reached" stays 0 on the status page even when every worker is busy. Judge saturation from active processes == total processes, listen queue (TCP only) and 504s with $upstream_header_time "-".`,
        setting: 'pm',
        current: 'static',
        scope: `pool ${pool.name}`,
      },
    ];
  }
  if (pool.pm === 'ondemand') {
    return [
      {
        id: 'pm_ondemand_caveat',
        severity: 'info',
        summary: `[pool ${pool.name}] pm = ondemand: workers are forked per burst and reaped after ${formatSeconds(pool.pmProcessIdleTimeout ?? 10)} idle, so first requests after a quiet spell are slower`,
        detail: `The saturation warning is worded "server reached max_children setting" (no "pm."), so log searches for "pm.max_children" miss it. A burst larger than pm.max_children (${pool.pmMaxChildren ?? '?'}) queues in the backlog and can turn into 504s; the status page only shows workers that currently exist.`,
        setting: 'pm',
        current: 'ondemand',
        scope: `pool ${pool.name}`,
      },
    ];
  }
  return [];
}

function noPoolFindings(routes: PhpRoute[], fpm: FpmConfig): Finding[] {
  if (fpm.pools.length === 0) return [];
  const listens = fpm.pools.map((p) => `${p.name}: ${p.listen ?? '?'}`).join(', ');
  const out: Finding[] = [];
  const seen = new Set<string>();
  for (const r of routes) {
    if (r.pools.length > 0 || !r.resolvable) continue;
    const key = `${r.fastcgiPass}|${r.server}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const unix = r.fastcgiPass.startsWith('unix:');
    out.push({
      id: 'fastcgi_pass_no_pool',
      severity: 'critical',
      summary: `${r.location} passes PHP to ${r.fastcgiPass} but no FPM pool listens there: every PHP request is a 502`,
      detail: `nginx will log ${unix ? '"connect() to unix:... failed (2: No such file or directory) while connecting to upstream"' : '"connect() failed (111: Connection refused) while connecting to upstream"'}. Pools listen on ${listens}. Usual cause: a PHP version upgrade changed the socket name (php7.4-fpm.sock → php8.2-fpm.sock) or the pool moved.`,
      setting: 'fastcgi_pass',
      current: r.fastcgiPass,
      suggested: passFor((fpm.pools.find((p) => (p.listen?.startsWith('/') ?? false) === unix) ?? fpm.pools[0])?.listen),
      scope: r.location,
    });
  }
  return out;
}

const RANK: Record<Severity, number> = { critical: 0, warn: 1, info: 2 };

export function configFindings(input: ConfigFindingsInput): Finding[] {
  const { nginx, fpm } = input;
  const observed = input.observed ?? {};
  const findings: Finding[] = [];
  const routes = nginx ? phpRoutes(nginx, fpm) : [];

  if (fpm) {
    findings.push(...noPoolFindings(routes, fpm));
    // Backup servers only see traffic when the primaries fail, so they do not add capacity at peak.
    const routedPools = new Set(routes.flatMap((r) => r.pools.filter((p) => !r.backupOnlyPools.includes(p))));
    for (const pool of fpm.pools) {
      // One timeout finding per distinct fastcgi_read_timeout among the locations feeding this pool.
      const feeding = routes.filter((r) => r.pools.includes(pool.name));
      const byRead = new Map<number, { locations: string[]; source: string }>();
      for (const r of feeding) {
        const loc = nginx?.servers.flatMap((s) => s.locations).find((l) => l.label === r.location);
        const entry = byRead.get(r.settings.fastcgi_read_timeout) ?? {
          locations: [],
          source: where(loc?.settings.setAt.fastcgi_read_timeout),
        };
        entry.locations.push(r.location);
        byRead.set(r.settings.fastcgi_read_timeout, entry);
      }
      if (byRead.size === 0) {
        const read = nginx?.http.values.fastcgi_read_timeout ?? NGINX_DEFAULTS.fastcgi_read_timeout;
        const source = nginx
          ? `${where(nginx.http.setAt.fastcgi_read_timeout)}; no location's fastcgi_pass matched this pool, http-level value assumed`
          : 'nginx config not provided; nginx default assumed';
        byRead.set(read, { locations: [], source });
      }
      let firstLimit = Infinity;
      for (const [read, e] of byRead) {
        const attributable = e.locations.length > 0 || fpm.pools.length === 1;
        findings.push(...timeoutFindings({ pool, read, readSource: e.source, locations: e.locations, attributable }, observed));
        const T = pool.requestTerminateTimeout ?? 0;
        firstLimit = Math.min(firstLimit, T > 0 ? Math.min(T, read) : read);
      }
      findings.push(...backlogFindings(pool, observed));
      findings.push(...statusPageFinding(pool, fpm.pools.length > 1));
      findings.push(...slowlogFinding(pool, Number.isFinite(firstLimit) ? firstLimit : 60));
      findings.push(...pmModeFindings(pool));
    }
    const candidates = routedPools.size > 0 ? fpm.pools.filter((p) => routedPools.has(p.name)) : fpm.pools;
    findings.push(...maxChildrenFindings(candidates, observed));
  }
  findings.push(...bufferFindings(nginx, routes, observed));
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => RANK[a.f.severity] - RANK[b.f.severity] || a.i - b.i)
    .map(({ f }) => f);
}
