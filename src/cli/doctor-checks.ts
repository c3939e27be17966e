/**
 * The checks of `badgateway doctor`: the config, the command catalog (and every id used outside it),
 * the runbooks, the store, Slack's credentials (auth.test), and for each host: SSH (reachable, host key
 * pinned, login accepted), sudo for the catalog's commands, and the sources discovery finds and
 * whether the login can read them. Each is reported as it finishes.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { catalogUseProblems, loadCatalog, type Catalog } from '../catalog/index.js';
import { loadConfig, type Config, type Host } from '../config/index.js';
import { ConfigError, errorMessage } from '../errors.js';
import { Inventory } from '../inventory/index.js';
import { createLogger } from '../log/index.js';
import type { Executor } from '../exec/index.js';

type Level = 'ok' | 'warn' | 'FAIL';

/** One line of the verdict: what was checked, what was found, and for a problem what to do. */
export interface Check {
  level: Level;
  subject: string;
  text: string;
  fix?: string;
}

/** Sources whose absence stops a triage (no verdict without the access log); the others only narrow it. */
const NEEDED_SOURCES = new Set(['accessLog']);

export interface DoctorInput {
  target: string | undefined;
  configPath: string | undefined;
  env: NodeJS.ProcessEnv;
  report(check: Check): void;
}

/** Runs every check in order, reporting each as it finishes; a target that names no host is a UsageError. */
export async function diagnoseSetup(input: DoctorInput): Promise<void> {
  const { report } = input;
  const config = checkConfig(input);
  if (!config) return;
  const inventory = new Inventory(config.hosts);
  // A bad target is the caller's mistake (exit 2), found before anything connects.
  const hosts = input.target !== undefined ? inventory.resolve(input.target) : inventory.hosts;
  const catalog = checkCatalog(config, report);
  if (catalog) await checkRunbooks(config, catalog, report);
  await checkStore(config, input.env, report);
  await checkSlack(input.env, report);
  if (!catalog) {
    report({ level: 'FAIL', subject: 'hosts', text: 'not checked: the command catalog did not load.', fix: 'fix the catalog problems above.' });
    return;
  }
  if (hosts.length === 0) {
    report({ level: 'warn', subject: 'hosts', text: `no hosts in the inventory (${config.file}).`, fix: 'add them under hosts: in that file (see badgateway.example.yaml).' });
    return;
  }
  const { createExecutor } = await import('../exec/index.js');
  const executor = createExecutor(config, createLogger({ level: 'silent' }));
  try {
    // Hosts in parallel, up to ssh.concurrency; each host's lines are printed together, in inventory order.
    const results = new Map<string, Promise<Check[]>>();
    let next = 0;
    const lanes = Array.from({ length: Math.min(config.fanout.concurrency, hosts.length) }, async () => {
      while (next < hosts.length) {
        const host = hosts[next++]!;
        const checked = checkHost(host, catalog, executor);
        results.set(host.name, checked);
        await checked;
      }
    });
    await Promise.all(lanes);
    for (const host of hosts) for (const check of await results.get(host.name)!) report(check);
  } finally {
    await executor.close();
  }
}

function checkConfig(input: DoctorInput): Config | null {
  try {
    const config = loadConfig({ ...(input.configPath !== undefined ? { path: input.configPath } : {}), env: input.env });
    const groups = new Set(config.hosts.flatMap((h) => h.groups)).size;
    const what = `${config.hosts.length} host${config.hosts.length === 1 ? '' : 's'}${groups ? `, ${groups} group${groups === 1 ? '' : 's'}` : ''}`;
    input.report({
      level: 'ok',
      subject: 'config',
      text: config.file ? `${config.file}: ${what}.` : `no badgateway.yaml here: the built-in inventory (${what}: localhost, on this machine).`,
      ...(config.file ? {} : { fix: '`badgateway init` writes a badgateway.yaml to add SSH hosts.' }),
    });
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const problem of err.problems) input.report({ level: 'FAIL', subject: 'config', text: problem, fix: `edit ${err.message.split(/ is invalid| has \d+ problems/)[0]}.` });
    } else {
      input.report({ level: 'FAIL', subject: 'config', text: errorMessage(err) });
    }
    return null;
  }
}

function checkCatalog(config: Config, report: (c: Check) => void): Catalog | null {
  let catalog: Catalog;
  try {
    catalog = loadCatalog(config.catalogDir);
  } catch (err) {
    for (const problem of err instanceof ConfigError ? err.problems : [errorMessage(err)]) {
      report({ level: 'FAIL', subject: 'catalog', text: `${config.catalogDir}: ${problem}`, fix: 'correct that entry (README, "The command catalog").' });
    }
    return null;
  }
  const problems = catalogUseProblems(catalog, config);
  for (const problem of problems) report({ level: 'FAIL', subject: 'catalog', text: problem, fix: 'use an id of `badgateway commands` (the did-you-mean above).' });
  if (!problems.length) report({ level: 'ok', subject: 'catalog', text: `${catalog.list().length} commands in ${config.catalogDir}; every id the code and the config use is there.` });
  return problems.length ? null : catalog;
}

async function checkRunbooks(config: Config, catalog: Catalog, report: (c: Check) => void): Promise<void> {
  const { loadRunbooks } = await import('../runbook/index.js');
  try {
    const runbooks = loadRunbooks(config.runbooksDir, catalog);
    report({ level: 'ok', subject: 'runbooks', text: `${runbooks.size} in ${config.runbooksDir}${runbooks.size ? ` (${[...runbooks.keys()].join(', ')})` : ''}.` });
  } catch (err) {
    for (const problem of err instanceof ConfigError ? err.problems : [errorMessage(err)]) {
      report({ level: 'FAIL', subject: 'runbooks', text: problem, fix: 'correct that line (src/runbook/format.ts describes the format); `badgateway start` refuses to start until then.' });
    }
  }
}

async function checkStore(config: Config, env: NodeJS.ProcessEnv, report: (c: Check) => void): Promise<void> {
  const { openStore, storeOptionsFromEnv } = await import('../store/index.js');
  const options = storeOptionsFromEnv(env, config.file ? dirname(config.file) : process.cwd());
  // An embedded store that does not exist yet is created by the first start; doctor does not create it.
  if (!options.databaseUrl && options.dataDir && options.dataDir !== 'memory://' && !existsSync(join(options.dataDir, 'pglite'))) {
    report({ level: 'ok', subject: 'store', text: `embedded, in ${options.dataDir} (not created yet: the first \`badgateway start\` creates it).` });
    return;
  }
  try {
    const store = await openStore({ ...options, snapshotIfBusy: true, logger: createLogger({ level: 'silent' }) });
    try {
      const applied = await store.migrations();
      report({ level: 'ok', subject: 'store', text: `${store.kind === 'postgres' ? 'PostgreSQL' : 'embedded'} at ${store.location}: opens, ${applied.length} migrations applied.` });
    } finally {
      await store.close();
    }
  } catch (err) {
    report({
      level: 'FAIL',
      subject: 'store',
      text: `cannot open it: ${errorMessage(err)}`,
      fix: options.databaseUrl ? 'check DATABASE_URL (server, credentials, database) and that the server runs.' : 'check BADGATEWAY_DATA_DIR (or ./data next to badgateway.yaml) is writable.',
    });
  }
}

async function checkSlack(env: NodeJS.ProcessEnv, report: (c: Check) => void): Promise<void> {
  const { chooseMode } = await import('../slack/mode.js');
  let mode;
  try {
    mode = chooseMode(env);
  } catch (err) {
    report({ level: 'FAIL', subject: 'slack', text: errorMessage(err), fix: 'set both tokens of one mode (README, "Slack app"), or neither for the console.' });
    return;
  }
  if (mode.mode === 'console') {
    report({ level: 'ok', subject: 'slack', text: 'no Slack tokens: `badgateway start` runs the local console.', fix: 'for Slack, set SLACK_APP_TOKEN and SLACK_BOT_TOKEN (README, "Slack app").' });
    return;
  }
  const { webApi } = await import('@slack/bolt');
  const client = new webApi.WebClient(mode.botToken, { timeout: 10_000, retryConfig: { retries: 0 }, ...(mode.apiUrl ? { slackApiUrl: mode.apiUrl } : {}) });
  try {
    const auth = await client.auth.test();
    report({ level: 'ok', subject: 'slack', text: `${mode.mode === 'socket' ? 'Socket Mode' : `HTTP mode on port ${mode.port}`}: the bot token works (auth.test: @${auth.user} in ${auth.team}).` });
  } catch (err) {
    const code = (err as { data?: { error?: string } }).data?.error;
    report({
      level: 'FAIL',
      subject: 'slack',
      text: `auth.test with SLACK_BOT_TOKEN failed: ${code ?? errorMessage(err)}.`,
      fix:
        code === 'invalid_auth' || code === 'token_revoked' || code === 'not_authed'
          ? 'copy the Bot User OAuth Token again (OAuth & Permissions, after installing the app) into SLACK_BOT_TOKEN.'
          : `check that this machine reaches ${mode.apiUrl ?? 'https://slack.com/api/'}.`,
    });
  }
}

/** The lines of one host: SSH, sudo, discovery and sources; SSH failing stops the rest. */
async function checkHost(host: Host, catalog: Catalog, executor: Executor): Promise<Check[]> {
  const checks: Check[] = [];
  const subject = host.name;
  const where = host.transport === 'local' ? 'this machine (transport: local)' : `${host.ssh.user}@${host.address}:${host.ssh.port}`;
  try {
    const uname = await executor.run(host, catalog.render('host.uname', host));
    if (uname.code !== 0) throw new Error(`uname -a failed: ${uname.stderr.split('\n')[0] || `exit ${uname.code}`}`);
    const login = host.transport === 'local' ? 'commands run here, no SSH' : `reachable, host key pinned in ${host.ssh.knownHosts}, login accepted`;
    checks.push({ level: 'ok', subject, text: `${where}: ${login}.` });
  } catch (err) {
    checks.push({ level: 'FAIL', subject, text: errorMessage(err).replace(new RegExp(`^${host.name}: `), ''), ...connectFix(host, errorMessage(err)) });
    return checks;
  }
  checks.push(...(await checkSudo(host, catalog, executor)));
  checks.push(...(await checkSources(host, catalog, executor)));
  return checks;
}

/** What to do about a failed connection, when its message does not already say it. */
function connectFix(host: Host, message: string): { fix?: string } {
  if (/ssh-keyscan|HOST KEY CHANGED|revoked|is sshd running|check the file/.test(message)) return {};
  if (/authentication failed/.test(message)) return { fix: `check ssh.user (${host.ssh.user}) and ssh.privateKey for ${host.name}, and that the key is in the host's authorized_keys.` };
  if (/no SSH answer|unreachable|cannot resolve/.test(message)) return { fix: `check hosts.${host.name}.address and ssh.port in badgateway.yaml, and that this machine reaches it.` };
  return {};
}

async function checkSudo(host: Host, catalog: Catalog, executor: Executor): Promise<Check[]> {
  const subject = host.name;
  const sudo = catalog.list().filter((c) => c.sudo);
  const root = host.transport === 'local' ? process.getuid?.() === 0 : host.ssh.user === 'root';
  if (root) return [{ level: 'ok', subject, text: `sudo: the login is root, so the ${sudo.length} catalog commands marked sudo run without it.` }];
  const checks: Check[] = [];
  const refused: string[] = [];
  // Read-only sudo commands are run as triage would run them (through sudo -n); a refusal names the rule missing.
  for (const command of sudo.filter((c) => !c.mutating)) {
    let rendered;
    try {
      rendered = catalog.render(command.id, host);
    } catch {
      continue; // needs a source this host does not have: the sources check says so
    }
    const result = await executor.run(host, rendered);
    if (result.code !== 0 && /sudo:|password is required|not in the sudoers|not allowed/.test(result.stderr)) {
      refused.push(
        `${command.id} (${
          result.stderr
            .split('\n')
            .find((l) => /sudo/.test(l))
            ?.trim() ?? 'refused'
        })`,
      );
    }
  }
  const user = host.transport === 'local' ? 'this user' : host.ssh.user;
  if (refused.length) {
    checks.push({
      level: 'FAIL',
      subject,
      text: `sudo -n refused ${refused.join(', ')}.`,
      fix: `let ${user} run them without a password (a NOPASSWD sudoers rule; README, "Privileges"), or log in as root.`,
    });
  } else {
    checks.push({
      level: 'ok',
      subject,
      text: `sudo: ${user} may run the read-only sudo commands (${sudo
        .filter((c) => !c.mutating)
        .map((c) => c.id)
        .join(', ')}).`,
    });
  }
  const mutating = sudo.filter((c) => c.mutating).map((c) => c.id);
  if (mutating.length) {
    checks.push({
      level: 'warn',
      subject,
      text: `sudo for ${mutating.join(', ')} not checked: they change the host, so only an approval runs them.`,
      fix: `on the host, \`sudo -n -l\` as ${user} shows whether they are allowed.`,
    });
  }
  return checks;
}

async function checkSources(host: Host, catalog: Catalog, executor: Executor): Promise<Check[]> {
  const subject = host.name;
  const { discoverHost, effectiveSources } = await import('../collect/discover.js');
  const checks: Check[] = [];
  const discovery = await discoverHost({ executor, catalog, host });
  const running = discovery.running;
  if (running && !running.nginx && !running.fpm) {
    checks.push({ level: 'FAIL', subject, text: 'neither nginx nor PHP-FPM runs there: nothing to triage.', fix: 'point this inventory entry at a host that serves PHP through nginx.' });
  } else if (running && (!running.nginx || !running.fpm)) {
    checks.push({ level: 'warn', subject, text: `${running.nginx ? 'PHP-FPM' : 'nginx'} is not running there: its evidence will be missing.` });
  }
  const sources = effectiveSources(host.sources, discovery);
  const found = (['accessLog', 'errorLog', 'fpmLog', 'slowLog', 'fpmStatusUrl'] as const).filter((s) => sources[s]);
  if (found.length) checks.push({ level: 'ok', subject, text: `sources: ${found.map((s) => `${s} ${sources[s]}${host.sources[s] ? ' (badgateway.yaml)' : ''}`).join(', ')}.` });
  for (const missing of discovery.missing) {
    if (sources[missing.source]) continue;
    checks.push({
      level: NEEDED_SOURCES.has(missing.source) ? 'FAIL' : 'warn',
      subject,
      text: `${missing.source} not found: ${missing.why}.`.replace(/\.\.$/, '.'),
      fix: `set hosts.${host.name}.sources.${missing.source} in badgateway.yaml${missing.source === 'slowLog' ? ', or set request_slowlog_timeout in the pool' : ''}.`,
    });
  }
  // Found is not readable: read one line of each log as the login (the line itself is not shown).
  const withSources: Host = { ...host, sources };
  for (const source of (['accessLog', 'errorLog', 'fpmLog', 'slowLog'] as const).filter((s) => sources[s])) {
    const result = await executor.run(withSources, catalog.render('log.tail', withSources, { source, lines: 1 }));
    if (result.code !== 0) {
      const why =
        result.stderr
          .split('\n')
          .find((l) => l.trim())
          ?.trim() ?? `exit ${result.code}`;
      const user = host.transport === 'local' ? 'this user' : host.ssh.user;
      checks.push({
        level: NEEDED_SOURCES.has(source) ? 'FAIL' : 'warn',
        subject,
        text: `${source} ${sources[source]} cannot be read: ${why}.`,
        fix: /Permission denied/.test(why) ? `let ${user} read it (e.g. add it to the adm group).` : `check the path, or set hosts.${host.name}.sources.${source}.`,
      });
    }
  }
  return checks;
}
