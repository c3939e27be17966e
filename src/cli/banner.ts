/**
 * The few lines `badgateway start` prints first (on stdout, in every mode): which config it runs with,
 * how to add hosts, and how to connect Slack. A newcomer without badgateway.yaml or tokens learns all
 * three before typing anything.
 */
import type { Config } from '../config/index.js';
import type { StartMode } from '../slack/mode.js';

export function startBanner(config: Config, mode: StartMode): string {
  const hosts = config.hosts.length;
  const local = config.hosts.filter((h) => h.transport === 'local').map((h) => h.name);
  const lines: string[] = [];
  if (config.file === null) {
    lines.push(
      `badgateway: no badgateway.yaml here, so using the built-in config: ${hosts === 1 && local.length === 1 ? `one host, ${local[0]} (this machine, transport: local)` : `${hosts} hosts`}.`,
      '  Add hosts: `badgateway init` writes a badgateway.yaml to edit (SSH hosts, groups, Slack access).',
    );
  } else {
    lines.push(
      `badgateway: config ${config.file} (${hosts} host${hosts === 1 ? '' : 's'}${local.length ? `; on this machine: ${local.join(', ')}` : ''}).`,
      '  Add hosts under `hosts:` in that file (see badgateway.example.yaml), then restart.',
    );
  }
  if (mode.mode === 'console') {
    lines.push('  Slack: not connected; set SLACK_APP_TOKEN and SLACK_BOT_TOKEN (README, "Slack app") and restart.');
  } else if (mode.mode === 'socket') {
    lines.push('  Slack: connecting in Socket Mode; type /502 help in a channel the bot is in.');
  } else {
    lines.push(`  Slack: HTTP mode, POST ${mode.path} on port ${mode.port}; type /502 help in a channel the bot is in.`);
  }
  return `${lines.join('\n')}\n`;
}
