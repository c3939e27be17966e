/**
 * Opening the store: a PostgreSQL server when DATABASE_URL is set (pg Pool; several bot replicas
 * share it), else PGlite embedded in this process with its files under ./data (next to
 * badgateway.yaml) or BADGATEWAY_DATA_DIR, or in memory (`memory://`). Migrations run before the
 * store is handed out. An embedded data directory belongs to one process at a time (a lock file
 * says which): two processes writing one PGlite directory would corrupt it.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { BadgatewayError, errorMessage } from '../errors.js';
import type { Logger } from '../log/index.js';
import { pgDb, pgliteDb, type Db } from './db.js';
import { SqlStore, migrate } from './sql-store.js';
import type { Store } from './types.js';

export class StoreError extends BadgatewayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'failed', options);
  }
}

export interface StoreOptions {
  /** A PostgreSQL connection string (DATABASE_URL). Wins over dataDir. */
  databaseUrl?: string;
  /** Schema on the server to keep the tables in (created if missing); default: the connection's search_path. */
  schema?: string;
  /** The embedded store's directory (its PGlite files go in `pglite/` inside), or `memory://`. */
  dataDir?: string;
  /** Connections in the pool (server only); default 5. */
  poolSize?: number;
  /**
   * When another process holds the embedded directory: open a copy of it instead (read-only use, e.g.
   * `badgateway audit` while the bot runs) rather than failing.
   */
  snapshotIfBusy?: boolean;
  logger?: Logger;
}

export const MEMORY = 'memory://';
const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/** DATABASE_URL, else BADGATEWAY_DATA_DIR, else `data/` in baseDir (the config file's folder, or the working directory). */
export function storeOptionsFromEnv(env: NodeJS.ProcessEnv, baseDir: string): StoreOptions {
  const url = env.DATABASE_URL?.trim();
  if (url) return { databaseUrl: url };
  const dir = env.BADGATEWAY_DATA_DIR?.trim();
  if (dir === MEMORY) return { dataDir: MEMORY };
  return { dataDir: resolve(baseDir, dir || 'data') };
}

/** The server without its password, for logs. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return 'postgres (unparsable DATABASE_URL)';
  }
}

/** Which store the options name, as logs show it, before it is opened. */
export function storeIdentity(options: StoreOptions): Pick<Store, 'kind' | 'location'> {
  if (options.databaseUrl) return { kind: 'postgres', location: `${describeUrl(options.databaseUrl)}${options.schema ? ` (schema ${options.schema})` : ''}` };
  return { kind: 'embedded', location: options.dataDir ?? MEMORY };
}

export async function openStore(options: StoreOptions): Promise<Store> {
  if (options.databaseUrl) return openServer(options.databaseUrl, options);
  return openEmbedded(options.dataDir ?? MEMORY, options);
}

async function openServer(url: string, options: StoreOptions): Promise<Store> {
  if (options.schema !== undefined && !SCHEMA_RE.test(options.schema)) throw new StoreError(`"${options.schema}" is not a schema name (lower-case letters, digits, _)`);
  const { default: pg } = await import('pg');
  const { location } = storeIdentity(options);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 5,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    application_name: 'badgateway',
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', (err) => options.logger?.warn({ err: errorMessage(err) }, 'postgres connection lost'));
  const db = pgDb(pool);
  try {
    if (options.schema) {
      // Replicas starting together: CREATE SCHEMA IF NOT EXISTS alone races on the catalog's unique index.
      await db.transaction(async (tx) => {
        await tx.query(`SELECT pg_advisory_xact_lock(hashtext('badgateway-schema:' || $1))`, [options.schema]);
        await tx.query(`CREATE SCHEMA IF NOT EXISTS "${options.schema}"`);
      });
    }
    const applied = await migrate(db);
    options.logger?.info({ store: 'postgres', location, migrated: applied }, 'store ready');
  } catch (err) {
    // The opening error is the one to report; a pool that also fails to end adds nothing to it.
    await pool.end().catch(() => undefined);
    throw new StoreError(`cannot open the PostgreSQL store at ${location}: ${errorMessage(err)}`, { cause: err });
  }
  return new SqlStore(db, location);
}

/** Directories held by stores of this process. */
const held = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the directory's lock file; returns its release, or the pid of the live process holding it. */
function lock(dir: string): { release: () => void } | { holder: number } {
  const file = join(dir, 'badgateway.lock');
  if (held.has(dir)) return { holder: process.pid };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      held.add(dir);
      return {
        release: () => {
          held.delete(dir);
          try {
            if (Number(readFileSync(file, 'utf8').trim()) === process.pid) unlinkSync(file);
          } catch {
            /* already gone */
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new StoreError(`cannot write the lock file ${file}: ${errorMessage(err)}`);
      let pid = 0;
      try {
        pid = Number(readFileSync(file, 'utf8').trim());
      } catch {
        continue;
      }
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) return { holder: pid };
      // Left by a process that is gone (or by this one before a crash): stale.
      try {
        unlinkSync(file);
      } catch {
        /* someone else removed it */
      }
    }
  }
  throw new StoreError(`cannot take the lock file ${file}`);
}

/**
 * PGlite's own defaults are sized for a database, not for a bot's few tables: 128 MB of shared buffers,
 * resident from the start (~150 MB of idle RSS measured). 4 MB holds this schema's working set (README
 * "Performance" has the figures). Everything else stays PGlite's.
 */
export const EMBEDDED_SETTINGS = ['-c', 'shared_buffers=4MB'];

/**
 * PGlite is 9 MB of WebAssembly. V8 compiles it with Liftoff, then again with TurboFan in the
 * background: on 2 cores that second compile costs seconds of CPU and ~60 MB of RSS, and the bot's
 * few queries never need its speed. The flag touches WebAssembly only (PGlite is the bot's only WebAssembly)
 * and must be set before the module is compiled.
 */
function liftoffOnly(): void {
  setFlagsFromString('--liftoff-only');
}

async function createPglite(dataDir: string): Promise<Db> {
  liftoffOnly();
  const { PGlite } = await import('@electric-sql/pglite');
  return pgliteDb(await PGlite.create(dataDir, { startParams: [...PGlite.defaultStartParams, ...EMBEDDED_SETTINGS] }));
}

const INIT_SCRIPT =
  'const [pglite, dir, params] = process.argv.slice(1);' +
  'require(pglite).PGlite.create(dir, { startParams: JSON.parse(params) }).then((db) => db.close())' +
  '.catch((err) => { process.stderr.write(String(err && err.message || err)); process.exitCode = 1; });';

/**
 * Creates a new data directory in a short-lived child process. PGlite's initdb peaks near 800 MB and a
 * process keeps ~300 MB of that afterwards; a child hands it all back when it exits, and this process
 * then opens the directory as it opens an existing one. Written beside it and renamed into place, so an
 * interrupted first start leaves no half-made directory behind.
 */
async function initDataDir(pgDir: string): Promise<void> {
  const pglite = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const { PGlite } = await import('@electric-sql/pglite');
  const fresh = `${pgDir}.init-${process.pid}`;
  rmSync(fresh, { recursive: true, force: true });
  try {
    await promisify(execFile)(process.execPath, ['--liftoff-only', '-e', INIT_SCRIPT, pglite, fresh, JSON.stringify([...PGlite.defaultStartParams, ...EMBEDDED_SETTINGS])], {
      timeout: 300_000,
    });
    renameSync(fresh, pgDir);
  } catch (err) {
    rmSync(fresh, { recursive: true, force: true });
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`creating it failed: ${stderr || errorMessage(err)}`);
  }
}

async function openEmbedded(dir: string, options: StoreOptions): Promise<Store> {
  if (dir === MEMORY) {
    const db = await createPglite(MEMORY);
    await migrate(db);
    return new SqlStore(db, MEMORY);
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new StoreError(`cannot create the data directory ${dir}: ${errorMessage(err)} (set BADGATEWAY_DATA_DIR to a writable folder)`);
  }
  const pgDir = join(dir, 'pglite');
  const taken = lock(dir);
  if ('holder' in taken) {
    const who = taken.holder === process.pid ? 'this process already' : `another badgateway process (pid ${taken.holder})`;
    if (!options.snapshotIfBusy) {
      throw new StoreError(`the data directory ${dir} is in use: ${who} has it open. One process owns an embedded store; set DATABASE_URL (PostgreSQL) to share state between processes.`);
    }
    // Read a copy: the running bot keeps writing its own.
    const copy = mkdtempSync(join(tmpdir(), 'badgateway-snapshot-'));
    try {
      cpSync(pgDir, join(copy, 'pglite'), { recursive: true });
      const db = await createPglite(join(copy, 'pglite'));
      await migrate(db);
      options.logger?.info({ store: 'embedded', location: dir, snapshot: copy, holder: taken.holder }, 'store in use: reading a snapshot');
      return new SqlStore(db, `${dir} (snapshot: ${who} has it open)`, () => rmSync(copy, { recursive: true, force: true }));
    } catch (err) {
      rmSync(copy, { recursive: true, force: true });
      throw new StoreError(`the data directory ${dir} is in use (${who}) and a snapshot of it could not be read: ${errorMessage(err)}`);
    }
  }
  let db: Db | undefined;
  try {
    if (!existsSync(join(pgDir, 'PG_VERSION'))) await initDataDir(pgDir);
    db = await createPglite(pgDir);
    const applied = await migrate(db);
    options.logger?.info({ store: 'embedded', location: dir, migrated: applied }, 'store ready');
    return new SqlStore(db, dir, taken.release);
  } catch (err) {
    // The opening error is the one to report; a database that also fails to close adds nothing to it.
    await db?.close().catch(() => undefined);
    taken.release();
    throw new StoreError(`cannot open the embedded store in ${dir}: ${errorMessage(err)}`, { cause: err });
  }
}
