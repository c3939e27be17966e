/**
 * Every catalog id badgateway names outside the catalog, checked against the loaded catalog before a
 * command runs: the code's own (triage, discovery, vitals, actions: CODE_COMMAND_IDS, kept complete by
 * test/catalog/uses.test.ts, which reads every id-like string in src/), the config's `actions`, and the
 * catalog's own `verify` lists. Runbooks are checked as they load (src/runbook/format.ts). A typo fails
 * the start with one line per problem and a did-you-mean, instead of a soft problem at run time.
 */
import type { Config } from '../config/index.js';
import type { Catalog } from './catalog.js';

/** The catalog commands the code runs by id. A custom `catalog:` folder must keep them (copy commands/*.yaml). */
export const CODE_COMMAND_IDS = [
  'fpm.config',
  'fpm.identity',
  'fpm.reload',
  'fpm.restart',
  'fpm.status',
  'host.clock',
  'host.cpus',
  'host.listen-queues',
  'host.memory',
  'host.oom-kills',
  'host.open-file-limits',
  'host.processes',
  'host.somaxconn',
  'host.uname',
  'host.uptime',
  'log.read-block',
  'log.read-stream',
  'log.stat',
  'log.tail',
  'nginx.config',
] as const;

/** `path: problem` lines, empty when every use names a command of the catalog (and actions name mutating ones). */
export function catalogUseProblems(catalog: Catalog, config: Pick<Config, 'hosts' | 'catalogDir'>): string[] {
  const problems: string[] = [];
  for (const id of CODE_COMMAND_IDS) {
    if (!catalog.get(id)) problems.push(`badgateway runs ${id}, which ${config.catalogDir} lacks: ${catalog.unknown(id)} (copy it from the shipped commands/*.yaml)`);
  }
  for (const command of catalog.list()) {
    for (const id of command.verify) {
      if (!catalog.get(id)) problems.push(`${command.id}.verify: ${catalog.unknown(id)}`);
    }
  }
  problems.push(...actionProblems(catalog, config));
  return problems;
}

/** `hosts.X.actions.reload` (or the fleet-wide `actions:`) must name a mutating catalog command. */
export function actionProblems(catalog: Catalog, config: Pick<Config, 'hosts'>): string[] {
  const problems: string[] = [];
  for (const host of config.hosts) {
    for (const [action, id] of Object.entries(host.actions ?? {})) {
      if (!id) continue;
      const command = catalog.get(id);
      if (!command) problems.push(`hosts.${host.name}.actions.${action}: ${catalog.unknown(id)}`);
      else if (!command.mutating) problems.push(`hosts.${host.name}.actions.${action}: ${id} is not a mutating catalog command`);
    }
  }
  return problems;
}
