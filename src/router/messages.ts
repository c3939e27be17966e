/** The router's own messages: help, the inventory, usage errors, refusals and the progress message. */
import type { Inventory } from '../inventory/index.js';
import { bold, code, esc, fallbackOf, pre, type Message, type MessageBlock } from '../report/message.js';
import type { TriageProgress } from '../triage/types.js';
import { TARGET_HELP, UNTIL_HELP } from './grammar.js';
import type { SlashCommand } from './commands.js';

function message(blocks: MessageBlock[]): Message {
  return { text: fallbackOf(blocks), blocks };
}

/** The commands of the table, one per line: usage, then what it does. */
function usageBlock(commands: readonly SlashCommand[]): string {
  const lines = commands.map((c) => [`/502 ${c.usage}`, c.summary] as const);
  const width = Math.max(...lines.map(([u]) => u.length));
  return pre(lines.map(([u, what]) => `${u.padEnd(width)}  ${what}`));
}

export function helpMessage(commands: readonly SlashCommand[]): Message {
  return message([
    { kind: 'section', text: `${bold('badgateway')} triages nginx 502/504s in front of PHP-FPM over SSH.\n${usageBlock(commands)}` },
    { kind: 'context', text: esc(`${TARGET_HELP} --since takes 90s, 15m, 2h, 1d (default 15m). ${UNTIL_HELP}`) },
  ]);
}

/**
 * A usage error: what was wrong, then the one usage line of the command it was about (`usage`), or,
 * when no command was recognised, where the list is. Never the whole help.
 */
export function usageMessage(problem: string, usage: string | null): Message {
  return message([
    { kind: 'section', text: `⚠️ ${esc(problem)}` },
    { kind: 'context', text: usage ? `Usage: ${code(usage)}` : `Type ${code('/502 help')} for the commands.` },
  ]);
}

export function refusalMessage(text: string): Message {
  return message([{ kind: 'section', text }]);
}

/** What a command or click gets while the bot drains for a restart (nothing new starts). */
export const RESTARTING = 'badgateway is restarting: nothing was started. Please try again in a minute.';

/** The end of a job cancelled because the bot was stopping (it did not finish; nothing it half-read is shown). */
export function cancelledMessage(title: string): Message {
  return noticeMessage(`⏹ ${bold(`${esc(title)} cancelled`)}: badgateway is restarting, so it did not finish. Ask again in a minute.`);
}

export function noticeMessage(text: string): Message {
  return message([{ kind: 'section', text }]);
}

export function hostsMessage(inventory: Inventory, configFile: string | null): Message {
  if (inventory.hosts.length === 0) {
    return message([
      {
        kind: 'section',
        text: `No hosts in the inventory (${esc(configFile ?? 'no badgateway.yaml found')}). Add them under ${code('hosts:')} in badgateway.yaml.`,
      },
    ]);
  }
  const rows = inventory.hosts.map((h) => [h.name, h.transport === 'local' ? 'this machine (local)' : `${h.address}:${h.ssh.port}`, h.groups.map((g) => `@${g}`).join(' ')]);
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length), i === 0 ? 4 : 7));
  const lines = [
    `${'HOST'.padEnd(widths[0]!)}  ${'ADDRESS'.padEnd(widths[1]!)}  GROUPS`,
    ...rows.map((r) => `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]}`.trimEnd()),
  ];
  const groups = [...inventory.groups().keys()].sort();
  return message([
    { kind: 'section', text: `${bold(`${inventory.hosts.length} host${inventory.hosts.length === 1 ? '' : 's'}`)}${groups.length ? ` · groups ${groups.map((g) => code(`@${g}`)).join(' ')}` : ''}\n${pre(lines)}` },
  ]);
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
    const blocks: MessageBlock[] = [
      { kind: 'section', text: `⏳ ${bold(`${esc(this.title)} running…`)} (${esc(this.window)})${lines.length ? `\n${lines.join('\n')}` : ''}` },
    ];
    if (this.requestedBy) blocks.push({ kind: 'context', text: `asked by ${this.requestedBy}` });
    return { text: `${esc(this.title)} running…`, blocks, status: this.status() };
  }
}
