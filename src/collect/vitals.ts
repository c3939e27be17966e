/**
 * Host vitals for 502 triage: load, memory, recent OOM kills, the kernel's listen backlog cap and the
 * open-file limits of the nginx and PHP-FPM masters. Each figure is null when the host would not say,
 * with the reason in `problems`; nothing here throws because one command failed.
 */
import { runCommand, type CommandOutcome, type DiscoveryContext } from './discover.js';
import { parseLoadavg, parseMeminfo, parseOomReport, parseOpenFileLimits, parseUptime, type LoadAverage, type Meminfo, type OomKill, type OpenFileLimit } from './vitals-parse.js';

export interface HostVitals {
  uptimeSeconds: number | null;
  loadAverage: LoadAverage | null;
  /** CPUs the host's processes may use (nproc), to read the load against. */
  cpus: number | null;
  memory: Meminfo | null;
  /** OOM kills still in the kernel log, oldest first; null when the kernel log cannot be read. */
  oomKills: OomKill[] | null;
  /** net.core.somaxconn: caps every listen backlog, FPM's listen.backlog included. */
  somaxconn: number | null;
  /** One entry per running nginx / PHP-FPM master. */
  openFileLimits: OpenFileLimit[];
  problems: string[];
}

export async function readVitals(ctx: DiscoveryContext): Promise<HostVitals> {
  const [uptime, cpus, memory, somaxconn, oom, limits] = (await Promise.all(
    ['host.uptime', 'host.cpus', 'host.memory', 'host.somaxconn', 'host.oom-kills', 'host.open-file-limits'].map((id) => runCommand(ctx, id)),
  )) as [CommandOutcome, CommandOutcome, CommandOutcome, CommandOutcome, CommandOutcome, CommandOutcome];
  const vitals: HostVitals = {
    uptimeSeconds: null,
    loadAverage: null,
    cpus: null,
    memory: null,
    oomKills: null,
    somaxconn: null,
    openFileLimits: [],
    problems: [],
  };
  const number = (run: CommandOutcome): number | null => (run.ok && /^\s*\d+\s*$/.test(run.stdout) ? Number(run.stdout.trim()) : null);

  if (uptime.ok) {
    vitals.uptimeSeconds = parseUptime(uptime.stdout);
    vitals.loadAverage = parseLoadavg(uptime.stdout.split('\n').slice(1).join('\n') || uptime.stdout);
    if (vitals.loadAverage === null) vitals.problems.push('load average unknown: /proc/loadavg not understood');
  } else vitals.problems.push(`load average unknown: ${uptime.why}`);

  vitals.cpus = number(cpus);
  if (vitals.cpus === null) vitals.problems.push(`CPU count unknown: ${cpus.ok ? 'nproc printed no number' : cpus.why}`);

  if (memory.ok) {
    vitals.memory = parseMeminfo(memory.stdout);
    if (vitals.memory.totalBytes === null) vitals.problems.push('memory: /proc/meminfo has no MemTotal');
  } else vitals.problems.push(`memory unknown: ${memory.why}`);

  vitals.somaxconn = number(somaxconn);
  if (vitals.somaxconn === null) vitals.problems.push(`net.core.somaxconn unknown: ${somaxconn.ok ? 'not a number' : somaxconn.why}`);

  if (oom.ok) vitals.oomKills = parseOomReport(oom.stdout);
  else vitals.problems.push(`OOM kills unknown: ${oom.result ? `the kernel log cannot be read (${oom.why})` : oom.why}`);

  if (limits.ok) {
    vitals.openFileLimits = parseOpenFileLimits(limits.stdout);
    for (const l of vitals.openFileLimits) {
      if (l.soft === null) vitals.problems.push(`open-file limit of ${l.process} master ${l.pid} unknown: /proc/${l.pid}/limits not readable`);
    }
  } else vitals.problems.push(`open-file limits unknown: ${limits.why}`);

  return vitals;
}
