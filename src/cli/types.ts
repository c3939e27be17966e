/** What every CLI command module shares with the dispatch (apart, so the modules and the dispatch do not import each other). */
import type { Context } from './context.js';

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface CliCommand {
  help: string;
  /** Whether the command needs the loaded config, inventory and catalog. */
  needsContext: boolean;
  run(args: string[], context: Context | null, io: Io, globals?: { configPath?: string }): Promise<number>;
}
