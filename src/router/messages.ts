/** The router's own messages: help, the inventory, usage errors and refusals (a job's progress is chat's). */
import type { Inventory } from '../inventory/index.js';
import { bold, code, esc, fallbackOf, pre, type Message, type MessageBlock } from '../report/message.js';
import { TARGET_HELP, UNTIL_HELP } from './grammar.js';

function message(blocks: MessageBlock[]): Message {
  return { text: fallbackOf(blocks), blocks };
}

/** What help shows of a command of the table (commands.ts imports this module, so not its type). */
interface HelpEntry {
  usage: string;
  summary: string;
}

/** The commands of the table, one per line: usage, then what it does. */
function usageBlock(commands: readonly HelpEntry[]): string {
  const lines = commands.map((c) => [`/502 ${c.usage}`, c.summary] as const);
  const width = Math.max(...lines.map(([u]) => u.length));
  return pre(lines.map(([u, what]) => `${u.padEnd(width)}  ${what}`));
}

export function helpMessage(commands: readonly HelpEntry[]): Message {
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
  const lines = [`${'HOST'.padEnd(widths[0]!)}  ${'ADDRESS'.padEnd(widths[1]!)}  GROUPS`, ...rows.map((r) => `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]}`.trimEnd())];
  const groups = [...inventory.groups().keys()].sort();
  return message([
    {
      kind: 'section',
      text: `${bold(`${inventory.hosts.length} host${inventory.hosts.length === 1 ? '' : 's'}`)}${groups.length ? ` · groups ${groups.map((g) => code(`@${g}`)).join(' ')}` : ''}\n${pre(lines)}`,
    },
  ]);
}
