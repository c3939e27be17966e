/** Pure parsers of what the vitals commands print (/proc files, prlimit, the kernel log's OOM reports); src/collect/vitals.ts runs them. */

// ---------------------------------------------------------------------------------------------
// /proc

export interface LoadAverage {
  one: number;
  five: number;
  fifteen: number;
  /** Runnable scheduling entities right now / all of them (4th field of /proc/loadavg). */
  running: number | null;
  total: number | null;
}

export function parseLoadavg(text: string): LoadAverage | null {
  const m = /(?:^|\n)\s*(\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)(?: (\d+)\/(\d+))?/.exec(text ?? '');
  if (!m) return null;
  return {
    one: Number(m[1]),
    five: Number(m[2]),
    fifteen: Number(m[3]),
    running: m[4] !== undefined ? Number(m[4]) : null,
    total: m[5] !== undefined ? Number(m[5]) : null,
  };
}

/** `cat /proc/uptime /proc/loadavg` prints both: uptime is the line with exactly two numbers. */
export function parseUptime(text: string): number | null {
  for (const line of (text ?? '').split('\n')) {
    const m = /^\s*(\d+(?:\.\d+)?) (\d+(?:\.\d+)?)\s*$/.exec(line);
    if (m) return Number(m[1]);
  }
  return null;
}

export interface Meminfo {
  totalBytes: number | null;
  availableBytes: number | null;
  swapTotalBytes: number | null;
  swapFreeBytes: number | null;
}

export function parseMeminfo(text: string): Meminfo {
  const values = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const m = /^([A-Za-z_()0-9]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) values.set(m[1]!, Number(m[2]) * (/kB\s*$/.test(line) ? 1024 : 1));
  }
  const get = (k: string) => values.get(k) ?? null;
  return {
    totalBytes: get('MemTotal'),
    availableBytes: get('MemAvailable'),
    swapTotalBytes: get('SwapTotal'),
    swapFreeBytes: get('SwapFree'),
  };
}

export interface OpenFileLimit {
  process: 'nginx' | 'php-fpm';
  pid: number;
  title: string;
  /** 'unlimited' as the kernel prints it; null when the limits file could not be read. */
  soft: number | 'unlimited' | null;
  hard: number | 'unlimited' | null;
}

/** Parses the `host.open-file-limits` report: `== PID TITLE` then the `Max open files` line of /proc/PID/limits. */
export function parseOpenFileLimits(text: string): OpenFileLimit[] {
  const out: OpenFileLimit[] = [];
  let current: OpenFileLimit | undefined;
  const value = (v: string): number | 'unlimited' => (v === 'unlimited' ? 'unlimited' : Number(v));
  for (const line of (text ?? '').split('\n')) {
    const head = /^== (\d+) (.*)$/.exec(line);
    if (head) {
      const title = head[2]!.trim();
      current = {
        process: title.startsWith('nginx') ? 'nginx' : 'php-fpm',
        pid: Number(head[1]),
        title,
        soft: null,
        hard: null,
      };
      out.push(current);
      continue;
    }
    const limit = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(line);
    if (limit && current) {
      current.soft = value(limit[1]!);
      current.hard = value(limit[2]!);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// kernel log

export interface OomKill {
  /** Seconds before the report was taken; null when the kernel log has no timestamps. */
  secondsAgo: number | null;
  pid: number | null;
  process: string | null;
  /** `Memory cgroup out of memory` (a container/cgroup limit) vs the whole host running out. */
  cgroup: boolean;
  line: string;
}

/**
 * Parses the `host.oom-kills` report: `uptime SECONDS`, then dmesg lines `[  1795.300827] …`.
 * One kill is one `Killed process PID (NAME)` line; `oom-kill:…task=NAME,pid=PID` lines fill in kills
 * whose `Killed process` line was rate-limited away.
 */
export function parseOomReport(text: string): OomKill[] {
  let uptime: number | null = null;
  const kills = new Map<string, OomKill>();
  const lines = (text ?? '').split('\n');
  for (const line of lines) {
    const up = /^uptime (\d+(?:\.\d+)?)\s*$/.exec(line);
    if (up) uptime = Number(up[1]);
  }
  const stampOf = (line: string): number | null => {
    const m = /^\[\s*(\d+(?:\.\d+)?)\]/.exec(line);
    return m ? Number(m[1]) : null;
  };
  const add = (line: string, pid: number | null, name: string | null, cgroup: boolean) => {
    const stamp = stampOf(line);
    const key = pid !== null ? `pid:${pid}` : `line:${line}`;
    const existing = kills.get(key);
    const secondsAgo = stamp !== null && uptime !== null ? Math.max(0, Math.round((uptime - stamp) * 10) / 10) : null;
    if (existing) {
      existing.cgroup ||= cgroup;
      if (/Killed process/.test(line)) existing.line = line.trim();
      return;
    }
    kills.set(key, { secondsAgo, pid, process: name, cgroup, line: line.trim() });
  };
  for (const line of lines) {
    const killed = /(Memory cgroup )?[Oo]ut of memory.*?: Killed process (\d+) \(([^)]*)\)|Killed process (\d+) \(([^)]*)\)/.exec(line);
    if (killed) {
      const pid = Number(killed[2] ?? killed[4]);
      add(line, pid, killed[3] ?? killed[5] ?? null, killed[1] !== undefined);
      continue;
    }
    const oom = /oom-kill:.*?\btask=([^,]*),pid=(\d+)/.exec(line);
    if (oom) add(line, Number(oom[2]), oom[1]!, /CONSTRAINT_MEMCG/.test(line));
  }
  return [...kills.values()];
}
