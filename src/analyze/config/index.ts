/**
 * Public surface of the config analysers. Parsers are pure (text in, JSON-serialisable data out, never throw) so the
 * bot can run them on output fetched over SSH, on text pasted into chat, or on stored fixtures alike.
 */
export { parseNginxT } from './nginx.js';
export { fpmListen, nginxListen, nginxTarget, reaches, targetReachesListen, type Endpoint } from './endpoint.js';
export { parseFpmTT } from './fpm.js';
export { bufferSuggestion, configFindings, phpRoutes, pickTerminate, suggestMaxChildren } from './findings.js';
export { parseNginxDuration, parseNginxSize, parseFpmDuration, parsePhpSize } from './units.js';
export type {
  ConfigFindingsInput,
  Finding,
  FpmConfig,
  FpmGlobalConfig,
  FpmPoolConfig,
  NginxAccessLog,
  NginxConfig,
  NginxEffectiveSettings,
  NginxErrorLog,
  NginxLocation,
  NginxLogFormat,
  NginxServer,
  NginxSettingName,
  NginxSource,
  NginxUpstream,
  NginxUpstreamServer,
  NginxUpstreamSettings,
  ObservedLoad,
  PhpRoute,
  Severity,
} from './types.js';
