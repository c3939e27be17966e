/** Everything a CLI command needs, built once from the validated config. */
import { catalogUseProblems, loadCatalog, type Catalog } from '../catalog/index.js';
import { loadConfig, type Config } from '../config/index.js';
import { ConfigError } from '../errors.js';
import { createExecutor, type Executor } from '../exec/index.js';
import { Inventory } from '../inventory/index.js';
import { createLogger, type Logger } from '../log/index.js';

export interface Context {
  config: Config;
  inventory: Inventory;
  catalog: Catalog;
  logger: Logger;
  executor(): Executor;
}

export function createContext(options: { configPath?: string; logger?: Logger; logLevel?: string }): Context {
  const config = loadConfig(options.configPath !== undefined ? { path: options.configPath } : {});
  const logger = options.logger ?? createLogger(options.logLevel ? { level: options.logLevel } : {});
  const catalog = loadCatalog(config.catalogDir);
  // Every id the code and the config name must be in the catalog: a typo stops here, not at run time.
  const problems = catalogUseProblems(catalog, config);
  if (problems.length) throw new ConfigError(config.file ?? `command catalog ${config.catalogDir}`, problems);
  let executor: Executor | undefined;
  return {
    config,
    inventory: new Inventory(config.hosts),
    catalog,
    logger,
    executor() {
      executor ??= createExecutor(config, logger);
      return executor;
    },
  };
}
