/** The config file's default name, apart from the loader so `badgateway init` need not load zod. */
export const DEFAULT_CONFIG_FILE = 'badgateway.yaml';
