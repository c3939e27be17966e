/**
 * The host's clock. nginx's error log, PHP-FPM's log and its slow log carry local wall-clock time with
 * no zone; read in the bot's zone they land hours away from the window. So each host is asked for its
 * UTC offset and for the offset its nginx and PHP-FPM masters log in (their own TZ may differ from the
 * login shell's), and the zone-less logs are read in those.
 */
import { runCommand, type DiscoveryContext } from './discover.js';

export interface HostClock {
  /** The host's time when asked (epoch ms), to tell a skewed clock. */
  hostNow: number | null;
  /** UTC offset in minutes (local minus UTC: CET = 60) of the login shell, and of each master. */
  hostOffset: number | null;
  nginxOffset: number | null;
  fpmOffset: number | null;
  /** One line each for the report: what could not be learned, and which offset each log was read in. */
  notes: string[];
}

/** `+0530` → 330, `-0330` → -210; null when malformed. */
export function parseUtcOffset(text: string): number | null {
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(text.trim());
  if (!m) return null;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return minutes > 18 * 60 ? null : (m[1] === '-' ? -1 : 1) * minutes;
}

export function formatUtcOffset(minutes: number): string {
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
}

/** Parses `host.clock` output (see commands/host.yaml). */
export function parseHostClock(stdout: string): Omit<HostClock, 'notes'> & { unreadable: string[] } {
  const clock = { hostNow: null as number | null, hostOffset: null as number | null, nginxOffset: null as number | null, fpmOffset: null as number | null, unreadable: [] as string[] };
  for (const line of stdout.split('\n')) {
    const [name, a, b] = line.trim().split(/\s+/);
    if (name === 'host') {
      clock.hostNow = a && /^\d+$/.test(a) ? Number(a) * 1000 : null;
      clock.hostOffset = b ? parseUtcOffset(b) : null;
    } else if (name === 'nginx' || name === 'fpm') {
      const offset = b ? parseUtcOffset(b) : null;
      if (offset === null) clock.unreadable.push(name);
      else clock[name === 'nginx' ? 'nginxOffset' : 'fpmOffset'] = offset;
    }
  }
  return clock;
}

export async function readHostClock(ctx: DiscoveryContext, masters: { nginx?: number | undefined; fpm?: number | undefined }): Promise<HostClock> {
  const run = await runCommand(ctx, 'host.clock', { nginx: masters.nginx ?? 0, fpm: masters.fpm ?? 0 });
  if (!run.ok) {
    return { hostNow: null, hostOffset: null, nginxOffset: null, fpmOffset: null, notes: [`The host's time zone is unknown (${run.why}): logs without a zone were read as UTC.`] };
  }
  const { unreadable, ...clock } = parseHostClock(run.stdout);
  const notes: string[] = [];
  if (clock.hostOffset === null) notes.push('The host did not say its UTC offset: logs without a zone were read as UTC.');
  for (const name of unreadable) {
    notes.push(`The ${name === 'nginx' ? 'nginx' : 'PHP-FPM'} master's own TZ could not be read (no permission on /proc/PID/environ): its logs were read in the host's zone.`);
  }
  return { ...clock, notes };
}

/** The offset to read one daemon's zone-less logs in: its own, else the host's, else UTC. */
export function offsetFor(clock: HostClock, daemon: 'nginx' | 'fpm'): number {
  return (daemon === 'nginx' ? clock.nginxOffset : clock.fpmOffset) ?? clock.hostOffset ?? 0;
}
