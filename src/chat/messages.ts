/** The messages every job shows the same way on every surface: a notice, a cancellation, the progress of a triage. */
import { bold, code, esc, fallbackOf, type Message, type MessageBlock } from '../report/message.js';
import type { TriageProgress } from '../triage/types.js';

/** The end of a job cancelled because the bot was stopping (it did not finish; nothing it half-read is shown). */
export function cancelledMessage(title: string): Message {
  return noticeMessage(`⏹ ${bold(`${esc(title)} cancelled`)}: badgateway is restarting, so it did not finish. Ask again in a minute.`);
}

export function noticeMessage(text: string): Message {
  const blocks: MessageBlock[] = [{ kind: 'section', text }];
  return { text: fallbackOf(blocks), blocks };
}

type Phase = 'starting' | 'connect' | 'discover' | 'collect' | 'analyze' | 'done' | 'failed';

/** What the progress message shows, folded from TriageProgress events. */
export class ProgressState {
  readonly hosts = new Map<string, { phase: Phase; sources: Map<string, string> }>();

  constructor(
    readonly title: string,
    /** The window in words: "last 15m", "30m to 2026-11-25 17:00Z". */
    readonly window: string,
    readonly requestedBy: string | null,
    hosts: readonly string[],
  ) {
    for (const h of hosts) this.hosts.set(h, { phase: 'starting', sources: new Map() });
  }

  apply(event: TriageProgress): void {
    if (event.type === 'started') {
      for (const h of event.hosts) if (!this.hosts.has(h)) this.hosts.set(h, { phase: 'starting', sources: new Map() });
      return;
    }
    const host = this.hosts.get(event.host) ?? { phase: 'starting' as Phase, sources: new Map<string, string>() };
    this.hosts.set(event.host, host);
    if (event.type === 'phase') host.phase = event.phase;
    if (event.type === 'source') host.sources.set(event.source, event.status === 'read' ? '✓' : event.status === 'missing' ? '–' : '✗');
    if (event.type === 'host-done') host.phase = event.result.error ? 'failed' : 'done';
  }

  /** One line: where the work is (the console prints this for an update). */
  status(): string {
    const all = [...this.hosts.values()];
    const done = all.filter((h) => h.phase === 'done' || h.phase === 'failed').length;
    const head = `${this.title} running (${this.window})`;
    if (all.length === 1) {
      const [name, h] = [...this.hosts.entries()][0]!;
      return `${head}: ${name} ${h.phase}${h.sources.size ? ` (${[...h.sources].map(([s, m]) => `${s} ${m}`).join(', ')})` : ''}`;
    }
    return `${head}: ${done}/${all.length} hosts done`;
  }

  message(): Message {
    const lines: string[] = [];
    const entries = [...this.hosts.entries()];
    for (const [name, h] of entries.slice(0, 20)) {
      const sources = [...h.sources].map(([s, m]) => `${s} ${m}`).join(', ');
      lines.push(`• ${code(name)} ${h.phase}${sources ? ` (${esc(sources)})` : ''}`);
    }
    if (entries.length > 20) lines.push(`…and ${entries.length - 20} more hosts`);
    const blocks: MessageBlock[] = [{ kind: 'section', text: `⏳ ${bold(`${esc(this.title)} running…`)} (${esc(this.window)})${lines.length ? `\n${lines.join('\n')}` : ''}` }];
    if (this.requestedBy) blocks.push({ kind: 'context', text: `asked by ${this.requestedBy}` });
    return { text: `${esc(this.title)} running…`, blocks, status: this.status() };
  }
}
