/**
 * The host's clock. nginx's error log, PHP-FPM's log and its slow log carry local wall-clock time with
 * no zone; read in the bot's zone they land hours away from the window. So each triage asks the host
 * for its UTC offset, and takes nginx's own from the access log (`$time_local` carries it), since a
 * daemon's zone (systemd `Environment=TZ=`, a container's env) can differ from the login shell's.
 * The masters' /proc/PID/environ would say it too, but nginx and PHP-FPM overwrite that memory with
 * their process titles.
 */
import { accessLogOffset, formatUtcOffset, parseUtcOffset } from '../analyze/timestamps.js';
import { runCommand, type DiscoveryContext } from './discover.js';

export interface HostClock {
  /** The host's time when asked (epoch ms), to tell a skewed clock. */
  hostNow: number | null;
  /** UTC offsets in minutes (local minus UTC: CET = 60): the login shell's, and the one nginx logs in. */
  hostOffset: number | null;
  nginxOffset: number | null;
  /** One line each for the report: what could not be learned, and when the two disagree. */
  notes: string[];
}

/** Parses `host.clock` output: `EPOCH_SECONDS +HHMM`. */
export function parseHostClock(stdout: string): { hostNow: number | null; hostOffset: number | null } {
  const [epoch, offset] = stdout.trim().split(/\s+/);
  return { hostNow: epoch && /^\d+$/.test(epoch) ? Number(epoch) * 1000 : null, hostOffset: offset ? parseUtcOffset(offset) : null };
}

/** Asks the host its offset and, where an access log is known, reads nginx's from its last lines; both at once. */
export async function readHostClock(ctx: DiscoveryContext, accessLogKnown: boolean): Promise<HostClock> {
  const [clock, tail] = await Promise.all([runCommand(ctx, 'host.clock'), accessLogKnown ? runCommand(ctx, 'log.tail', { source: 'accessLog', lines: 20 }) : null]);
  const notes: string[] = [];
  const { hostNow, hostOffset } = clock.ok ? parseHostClock(clock.stdout) : { hostNow: null, hostOffset: null };
  if (!clock.ok) notes.push(`The host did not say its time zone (${clock.why}).`);
  else if (hostOffset === null) notes.push('The host did not say its UTC offset.');
  const nginxOffset = tail?.ok ? accessLogOffset(tail.stdout.split('\n')) : null;
  if (nginxOffset !== null && hostOffset !== null && nginxOffset !== hostOffset) {
    notes.push(
      `nginx logs at UTC${formatUtcOffset(nginxOffset)} while the host's shell says UTC${formatUtcOffset(hostOffset)}: ` +
        "the daemons run in a zone of their own, so the error, PHP-FPM and slow logs were read at nginx's.",
    );
  }
  if (nginxOffset === null && hostOffset === null) notes.push('Logs without a zone (error, PHP-FPM, slow log) were read as UTC: their times may be off.');
  return { hostNow, hostOffset, nginxOffset, notes };
}

/**
 * The offset a zone-less log was written in: nginx's own where its access log shows it, else the host's,
 * else UTC. PHP-FPM's zone cannot be read off the host; where nginx's differs from the shell's, the
 * daemons evidently share a zone of their own, and nginx's is the better guess.
 */
export function zoneOffset(clock: HostClock): number {
  return clock.nginxOffset ?? clock.hostOffset ?? 0;
}
