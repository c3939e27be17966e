/**
 * `badgateway run`'s reading of the outputs it understands: /proc text (`245.30 342.62`, `MemTotal:
 * 24702652 kB`) means little to a newcomer, so these get a line in words above the raw text. The
 * parsers are the ones triage reads the same outputs with.
 */
import { parseLoadavg, parseMeminfo, parseOpenFileLimits, parseOomReport, parseUptime } from '../collect/vitals-parse.js';

/** 93784 s → "1 d 2 h 3 min". */
function uptimeWords(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return [d ? `${d} d` : '', h ? `${h} h` : '', `${m} min`].filter(Boolean).join(' ');
}

function gib(bytes: number | null): string {
  return bytes === null ? '?' : `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

const READERS: Record<string, (text: string) => string | null> = {
  'host.uptime': (text) => {
    const up = parseUptime(text);
    const load = parseLoadavg(text.split('\n').slice(1).join('\n'));
    if (up === null && load === null) return null;
    const parts = [up !== null ? `up ${uptimeWords(up)}` : null];
    if (load) parts.push(`load average ${load.one} (1 min), ${load.five} (5 min), ${load.fifteen} (15 min)${load.running !== null ? `; ${load.running} of ${load.total} tasks runnable now` : ''}`);
    return parts.filter(Boolean).join('; ');
  },
  'host.memory': (text) => {
    const m = parseMeminfo(text);
    if (m.totalBytes === null) return null;
    const swap = m.swapTotalBytes ? `; swap ${gib(m.swapFreeBytes)} free of ${gib(m.swapTotalBytes)}` : '; no swap';
    return `memory ${gib(m.availableBytes)} available of ${gib(m.totalBytes)}${swap}`;
  },
  'host.cpus': (text) => (/^\s*\d+\s*$/.test(text) ? `${text.trim()} CPUs usable` : null),
  'host.somaxconn': (text) => (/^\s*\d+\s*$/.test(text) ? `net.core.somaxconn ${text.trim()}: no listen backlog can be longer` : null),
  'host.open-file-limits': (text) => {
    const limits = parseOpenFileLimits(text);
    if (!limits.length) return 'no nginx or PHP-FPM master process is running';
    return limits.map((l) => `${l.process} master ${l.pid}: open files soft ${l.soft ?? '?'}, hard ${l.hard ?? '?'}`).join('\n');
  },
  'host.oom-kills': (text) => {
    const kills = parseOomReport(text);
    if (!kills.length) return 'no out-of-memory kills in the kernel log';
    return `${kills.length} out-of-memory kill(s) in the kernel log, the last: ${kills.at(-1)!.process ?? '?'} (pid ${kills.at(-1)!.pid ?? '?'})`;
  },
};

/** The output in words, or null when badgateway has no reading of this command's output. */
export function readableOutput(commandId: string, text: string): string | null {
  return READERS[commandId]?.(text) ?? null;
}
