/**
 * A lab "host" for triage tests: a REAL sshd (test/support/sshd.ts) in front of a REAL nginx + PHP-FPM
 * lab (test/lab/lab.ts), and a badgateway.yaml naming it, loaded through the real config loader with
 * the shipped command catalog.
 *
 * The lab's nginx and FPM run from a temp dir (`nginx -p DIR -c DIR/nginx.conf`, `php-fpm -y
 * DIR/php-fpm.conf`), and other test files start labs of their own at the same time. Discovery tells
 * them apart by the directory of a configured log: by default each inventory name gets
 * `sources.accessLog` = the lab's access log (`pin: false` leaves sources empty: with several labs
 * running, discovery then reads none and says which source would tie one to the host).
 *
 * `startIsolatedSshd()` serves the same keys from a second sshd in a PID namespace of its own: a "host"
 * whose process table shows no nginx or PHP-FPM at all, whatever else runs on this machine.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { loadCatalog, type Catalog } from '../../src/catalog/index.js';
import { defaultCatalogDir, loadConfig, type Config, type Host, type Sources } from '../../src/config/index.js';
import { startLab, type Lab, type LabOptions } from '../lab/lab.js';
import { writeConfig } from './config.js';
import { freePort, startSshd, type TestSshd } from './sshd.js';

export interface LabHost {
  lab: Lab;
  sshd: TestSshd;
  /** badgateway.yaml naming the lab under every inventory name asked for. */
  configFile: string;
  config: Config;
  hosts: Host[];
  catalog: Catalog;
  stop(): Promise<void>;
}

export interface LabHostOptions {
  /** Inventory names for the lab (default `['web-lab']`). */
  names?: string[];
  /** Pin names to this lab through sources.accessLog: all (default), none, or those the function picks. */
  pin?: boolean | ((name: string) => boolean);
  /** Extra sources per inventory name (after the pin). */
  sources?: (lab: Lab, name: string) => Sources;
}

export function hostConfig(sshd: { port: number; user: string; clientKey: string; knownHosts: string }, sources: Sources = {}): Record<string, unknown> {
  return {
    address: '127.0.0.1',
    port: sshd.port,
    user: sshd.user,
    privateKey: sshd.clientKey,
    knownHosts: sshd.knownHosts,
    connectTimeout: '5s',
    ...(Object.keys(sources).length > 0 ? { sources } : {}),
  };
}

export async function startLabHost(labOptions: Partial<LabOptions> = {}, options: LabHostOptions = {}): Promise<LabHost> {
  const names = options.names ?? ['web-lab'];
  const [sshd, lab] = await Promise.all([startSshd(), startLab(labOptions)]);
  try {
    const hosts: Record<string, unknown> = {};
    for (const name of names) {
      const pinned = typeof options.pin === 'function' ? options.pin(name) : options.pin !== false;
      const sources: Sources = { ...(pinned ? { accessLog: lab.paths.access } : {}), ...options.sources?.(lab, name) };
      hosts[name] = hostConfig(sshd, sources);
    }
    const configFile = writeConfig({ catalog: defaultCatalogDir(), hosts });
    const config = loadConfig({ path: configFile, env: {} });
    const catalog = loadCatalog(config.catalogDir);
    let stopped: Promise<void> | undefined;
    return {
      lab,
      sshd,
      configFile,
      config,
      hosts: config.hosts,
      catalog,
      stop: () => (stopped ??= Promise.all([lab.stop(), sshd.stop()]).then(() => undefined)),
    };
  } catch (err) {
    await Promise.all([lab.stop(), sshd.stop()]);
    throw err;
  }
}

export interface IsolatedSshd {
  port: number;
  /** known_hosts pinning the same host key at the new port. */
  knownHosts: string;
  user: string;
  clientKey: string;
  stop(): Promise<void>;
}

/**
 * A second sshd with the keys and config of `sshd`, in new PID and mount namespaces (`unshare --pid
 * --fork --mount-proc`): commands run through it see only their own processes.
 */
export async function startIsolatedSshd(sshd: TestSshd): Promise<IsolatedSshd> {
  const port = await freePort();
  const knownHosts = join(sshd.dir, `known_hosts_isolated_${port}`);
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${sshd.hostPublicKey}\n`);
  let log = '';
  const child = spawn(
    'unshare',
    [
      '--pid',
      '--fork',
      '--mount-proc',
      '--kill-child',
      '/usr/sbin/sshd',
      '-D',
      '-e',
      '-f',
      join(sshd.dir, 'sshd_config'),
      '-o',
      `Port=${port}`,
      '-o',
      `PidFile=${join(sshd.dir, `sshd_isolated_${port}.pid`)}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr!.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-10_000);
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      // unshare --fork ignores SIGTERM while it waits; killing it makes --kill-child take the namespace down.
      child.kill('SIGKILL');
      await exited;
    }
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`isolated sshd exited with ${child.exitCode}: ${log}`);
    const banner = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString().startsWith('SSH-'));
      });
      socket.once('error', () => resolve(false));
      socket.setTimeout(1000, () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (banner) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`isolated sshd did not answer on ${port}: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, knownHosts, user: sshd.user, clientKey: sshd.clientKey, stop };
}
