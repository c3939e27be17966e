/** @module exec: run catalog commands on hosts (SSH, or this machine for `transport: local`), with pinned host keys, timeouts and output caps. */
export { SshExecutor } from './ssh.js';
export type { SshExecutorOptions } from './ssh.js';
export { LocalExecutor, localArgv } from './local.js';
export type { LocalExecutorOptions } from './local.js';
export { RoutingExecutor, createExecutor } from './routing.js';
export type { Executor, ExecResult, ExecOptions, ExecObserver } from './types.js';
export { succeeded, notify } from './types.js';
export { mapLimit, Semaphore } from './semaphore.js';
export { parseKnownHosts, verifyHostKey, fingerprint, knownHostsName } from './known-hosts.js';
export { remoteCommandLine } from './remote-command.js';
export { argvAsRun, runsAsRoot, withSudo } from './sudo.js';
