/**
 * Whether a command goes through sudo, decided in one place for the executors and for what the
 * approvers are shown: `sudo: true` catalog commands run through `sudo -n --` (never prompting) unless
 * the account they run as is root (a root SSH login, or the bot itself as root for `transport: local`),
 * which needs none.
 */
import type { RenderedCommand } from '../catalog/index.js';
import type { Host } from '../config/index.js';

/** The argv as it runs for an account that is (or is not) root. */
export function withSudo(command: Pick<RenderedCommand, 'argv' | 'sudo'>, asRoot: boolean): string[] {
  return command.sudo && !asRoot ? ['sudo', '-n', '--', ...command.argv] : [...command.argv];
}

/** Whether the host's commands run as root: the SSH login user, or this process for `transport: local`. */
export function runsAsRoot(host: Pick<Host, 'transport' | 'ssh'>, localUid: number = process.getuid?.() ?? -1): boolean {
  return host.transport === 'local' ? localUid === 0 : host.ssh.user === 'root';
}

/** The argv exactly as the executor will run it on this host (what an approval shows and compares). */
export function argvAsRun(host: Pick<Host, 'transport' | 'ssh'>, command: Pick<RenderedCommand, 'argv' | 'sudo'>, localUid?: number): string[] {
  return withSudo(command, runsAsRoot(host, localUid));
}
