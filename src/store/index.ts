/** @module store: durable approvals, audit log, runbook sessions and digest runs (PGlite embedded, or PostgreSQL). */
export type * from './types.js';
export { openStore, storeIdentity, storeOptionsFromEnv, describeUrl, StoreError, MEMORY, type StoreOptions } from './open.js';
export { MIGRATIONS, type Migration } from './migrations.js';
export { deferredStore } from './deferred.js';
