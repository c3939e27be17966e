/**
 * The services every front end (CLI, Slack, console) shares, built once from the validated config.
 * Front ends call use cases through this; none of them builds its own executor or catalog.
 */
import { loadCatalog, type Catalog } from '../catalog/index.js';
import type { Config } from '../config/index.js';
import { SshExecutor, type ExecObserver, type Executor } from '../exec/index.js';
import { Inventory } from '../inventory/index.js';
import type { Logger } from '../log/index.js';
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
  close(): Promise<void>;
}

export function createServices(config: Config, logger: Logger, overrides: { executor?: Executor; observer?: ExecObserver } = {}): Services {
  const inventory = new Inventory(config.hosts);
  const catalog = loadCatalog(config.catalogDir);
  const executor =
    overrides.executor ??
    new SshExecutor({
      logger,
      channelsPerHost: config.fanout.channelsPerHost,
      idleTimeoutMs: config.fanout.idleTimeoutMs,
      ...(overrides.observer ? { observer: overrides.observer } : {}),
    });
  const triage = createTriage({ config, inventory, catalog, executor, logger });
  return {
    config,
    inventory,
    catalog,
    logger,
    executor,
    triage,
    close: () => executor.close(),
  };
}
