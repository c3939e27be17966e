/**
 * The services every front end (CLI, Slack, console) shares, built once from the validated config.
 * Front ends call use cases through this; none of them builds its own executor or catalog.
 */
import { ActionService, AuditingExecutor, type GroupMembers } from '../actions/index.js';
import { loadCatalog, type Catalog } from '../catalog/index.js';
import { DiscoveryCache } from '../collect/discovery-cache.js';
import type { Config } from '../config/index.js';
import { createExecutor, type ExecObserver, type Executor } from '../exec/index.js';
import { Inventory } from '../inventory/index.js';
import type { Logger } from '../log/index.js';
import type { Store } from '../store/index.js';
import { createTriage } from '../triage/triage.js';
import type { TriageRequest, TriageResult } from '../triage/types.js';

export interface Services {
  config: Config;
  inventory: Inventory;
  catalog: Catalog;
  logger: Logger;
  executor: Executor;
  /** Triage of a target over SSH: discover, collect the window, analyze, diagnose. */
  triage(request: TriageRequest): Promise<TriageResult>;
  /** Host discoveries, shared by triage and the actions (a reload after a triage reuses it). */
  discovery: DiscoveryCache;
  /** Durable state (approvals, audit log, ...), when the front end opened one (`badgateway start` does). */
  store?: Store;
  /** Approvals and remediation (reload/restart php-fpm); present with a store. */
  actions?: ActionService;
  close(): Promise<void>;
}

export interface ServiceOverrides {
  executor?: Executor;
  observer?: ExecObserver;
  /** With a store, every remote command is audited and approvals are available. The caller closes it. */
  store?: Store;
  /** Members of slack.approverGroup (the Slack front end reads them with usergroups.users.list). */
  groupMembers?: GroupMembers | null;
}

export function createServices(config: Config, logger: Logger, overrides: ServiceOverrides = {}): Services {
  const inventory = new Inventory(config.hosts);
  const catalog = loadCatalog(config.catalogDir);
  // One executor for every host: SSH, or this machine for `transport: local` hosts.
  const base = overrides.executor ?? createExecutor(config, logger, overrides.observer);
  // With a store, every remote command (triage, actions) is recorded in the audit log.
  const store = overrides.store;
  const executor = store ? new AuditingExecutor(base, store, logger) : base;
  // With a store, an action run by any replica makes every replica's cached discovery of that host stale.
  const discovery = new DiscoveryCache(store ? { generation: (host) => store.hostGeneration(host) } : {});
  const triage = createTriage({ config, inventory, catalog, executor, logger, discoveryCache: discovery });
  const actions = store ? new ActionService({ config, inventory, catalog, executor, store, logger, discovery, groupMembers: overrides.groupMembers ?? null }) : undefined;
  return {
    config,
    inventory,
    catalog,
    logger,
    executor,
    triage,
    discovery,
    ...(store ? { store } : {}),
    ...(actions ? { actions } : {}),
    close: async () => {
      await actions?.stop();
      await executor.close();
    },
  };
}
