/** @module catalog: the remote commands badgateway may run, as validated data. */
export { Catalog, loadCatalog, parseCatalogFile } from './catalog.js';
export type { CatalogCommand, RenderedCommand, ParamSpec } from './catalog.js';
export { shellQuote, shellJoin } from './quote.js';
export { CODE_COMMAND_IDS, actionProblems, catalogUseProblems } from './uses.js';
