/**
 * The command string sent over ssh. The argv is quoted once (shellJoin) and run under a small fixed
 * wrapper, because OpenSSH ignores the SSH "signal" request for commands without a pty and keeps a
 * command running after its channel closes. The wrapper makes the host itself stop the command:
 *  - at the command's timeout (`timeout -s KILL`, in a session of its own so the whole group dies);
 *  - as soon as our side of the channel sends EOF or the connection drops (stdin closes), so a
 *    cancelled or cut-off command never outlives the request that started it.
 * The wrapper text is constant; the command arrives as positional parameters, never inside it.
 */
import { shellJoin, type RenderedCommand } from '../catalog/index.js';
import { withSudo } from './sudo.js';

const WRAPPER = [
  't=$1; shift',
  'exec 3<&0',
  'setsid timeout -s KILL "$t" "$@" </dev/null &',
  'c=$!',
  '{ while read -r _ <&3; do :; done; kill -KILL "-$c"; } 2>/dev/null &',
  'w=$!',
  'wait "$c"; s=$?',
  'kill "$w" 2>/dev/null',
  'exit "$s"',
].join('\n');

/** `sudo: true` commands go through `sudo -n` (never prompts), except for a root login, which needs none. */
export function remoteCommandLine(command: RenderedCommand, loginUser: string): string {
  const seconds = String(Math.max(1, Math.ceil(command.timeoutMs / 1000)));
  const argv = withSudo(command, loginUser === 'root');
  return shellJoin(['sh', '-c', WRAPPER, 'badgateway', seconds, ...argv]);
}
