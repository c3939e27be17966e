/**
 * Stores for tests, on both backends: the REAL PostgreSQL server (TEST_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/test, trust auth) in a schema of its own per store, dropped by
 * `drop()`; and embedded PGlite in a temp directory (or memory://).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore, type Store } from '../../src/store/index.js';

/**
 * `TEST_DATABASE_URL=none`: no external PostgreSQL server for this run (CI's second pass runs under
 * faketime, whose clock the server does not share); the tests that need one are skipped, the rest run.
 */
export const HAS_POSTGRES = process.env.TEST_DATABASE_URL !== 'none';

export const PG_URL = (HAS_POSTGRES ? process.env.TEST_DATABASE_URL : undefined) ?? 'postgres://postgres@127.0.0.1:5432/test';

let counter = 0;

/** A schema name unique to this run, this worker and this call. */
export function uniqueSchema(prefix = 'bg_test'): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
}

export interface TestDb {
  name: 'postgres' | 'pglite';
  /** Opens a store on this database; every call reaches the same data (another replica, or a restart). */
  open(): Promise<Store>;
  /** Removes the data (drops the schema, deletes the directory). */
  drop(): Promise<void>;
  /** Runs raw SQL against the data, bypassing the Store (tests of what the schema itself refuses). */
  raw?(sql: string): Promise<unknown>;
  /**
   * The environment a `badgateway start` process needs to reach the same data: DATABASE_URL with the
   * schema as its search_path (call open() once first: it creates the schema), or BADGATEWAY_DATA_DIR.
   */
  env: NodeJS.ProcessEnv;
}

export function postgresDb(): TestDb {
  const schema = uniqueSchema();
  return {
    name: 'postgres',
    env: { DATABASE_URL: `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}` },
    open: () =>
      openStore({ databaseUrl: PG_URL, schema }).catch((err: Error) => {
        throw new Error(`${err.message}\nThe store tests need PostgreSQL on 127.0.0.1:5432 (database test, trust auth), or TEST_DATABASE_URL.`);
      }),
    async raw(sql) {
      const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
      await client.connect();
      try {
        return await client.query(sql);
      } finally {
        await client.end();
      }
    },
    async drop() {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

export function pgliteDb(): TestDb & { dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'badgateway-store-'));
  return {
    name: 'pglite',
    dir,
    env: { BADGATEWAY_DATA_DIR: dir },
    open: () => openStore({ dataDir: dir }),
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Both backends where a PostgreSQL server is there, else the embedded one alone (see HAS_POSTGRES). */
export const BACKENDS: Array<{ make: () => TestDb }> = HAS_POSTGRES ? [{ make: postgresDb }, { make: pgliteDb }] : [{ make: pgliteDb }];
