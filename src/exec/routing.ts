/**
 * One Executor for the whole inventory: each command goes to the executor of its host's transport
 * (`ssh`, or `local` for the machine the bot runs on). Callers (triage, the CLI, actions) never choose.
 */
import type { RenderedCommand } from '../catalog/index.js';
import type { Config, Host } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { LocalExecutor } from './local.js';
import { SshExecutor } from './ssh.js';
import type { ExecObserver, ExecOptions, ExecResult, Executor } from './types.js';

export type Transport = Host['transport'];

export class RoutingExecutor implements Executor {
  constructor(private readonly byTransport: Record<Transport, Executor>) {}

  run(host: Host, command: RenderedCommand, options?: ExecOptions): Promise<ExecResult> {
    return this.byTransport[host.transport].run(host, command, options);
  }

  async close(): Promise<void> {
    await Promise.all(Object.values(this.byTransport).map((e) => e.close()));
  }
}

/** The executor every front end uses: SSH for `transport: ssh` hosts, this machine for `transport: local`. */
export function createExecutor(config: Config, logger: Logger, observer?: ExecObserver): Executor {
  const watched = observer ? { observer } : {};
  return new RoutingExecutor({
    ssh: new SshExecutor({ logger, channelsPerHost: config.fanout.channelsPerHost, idleTimeoutMs: config.fanout.idleTimeoutMs, ...watched }),
    local: new LocalExecutor({ logger, concurrency: config.fanout.channelsPerHost, ...watched }),
  });
}
