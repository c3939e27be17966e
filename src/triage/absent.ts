/**
 * A host where neither nginx nor PHP-FPM runs (a laptop on first run, the wrong machine): triage says so
 * in words, with what it looked for, instead of a "healthy" verdict drawn from no evidence.
 */
import type { Discovery } from '../collect/discover.js';
import type { Host, Sources } from '../config/index.js';
import type { Diagnosis } from '../diagnose/index.js';

const LOG_SOURCES: Array<keyof Sources> = ['accessLog', 'errorLog', 'fpmLog', 'slowLog'];

/** Where the catalog's discovery scripts look for the binaries (commands/nginx.yaml, commands/fpm.yaml). */
const NGINX_LOOKED = 'no nginx in PATH, /usr/sbin, /usr/local/sbin or /usr/local/nginx/sbin';
const FPM_LOOKED = 'no php-fpm, php-fpm8.4 … php-fpm7.3 in PATH or /usr/sbin';

/**
 * The diagnosis for a host with no nginx and no PHP-FPM master running, or null when there is something
 * to triage (a master runs, or badgateway.yaml names log files for the host, which are then read as usual).
 */
export function absenceDiagnosis(host: Host, discovery: Discovery): Diagnosis | null {
  if (discovery.nginxMaster || discovery.fpmMaster) return null;
  if (discovery.running?.nginx !== false || discovery.running.fpm !== false) return null;
  if (LOG_SOURCES.some((key) => host.sources[key] !== undefined)) return null;
  const installed = Boolean(discovery.nginxBinary) || Boolean(discovery.fpmBinary);
  const headline = installed ? 'Neither nginx nor PHP-FPM is running: nothing to triage' : 'Found neither nginx nor PHP-FPM: nothing to triage';
  const notes: string[] = [];
  if (discovery.nginxBinary) {
    const conf = discovery.nginx?.files[0];
    const binary = discovery.nginxBinary.startsWith('/') ? discovery.nginxBinary : `${discovery.nginxBinary} in PATH`;
    notes.push(`nginx: installed (${binary}${conf ? `, configuration ${conf}` : ''}) but not running: no "nginx: master process" in ${host.name}'s process table.`);
  } else {
    notes.push(
      `nginx: not running (no "nginx: master process" in ${host.name}'s process table) and not installed (${NGINX_LOOKED}), ` + 'so there is no configuration to read (default /etc/nginx/nginx.conf).',
    );
  }
  if (discovery.fpmBinary) {
    notes.push(`PHP-FPM: installed (${discovery.fpmBinary}) but not running: no "php-fpm: master process" in the process table.`);
  } else {
    notes.push(
      `PHP-FPM: not running (no "php-fpm: master process" in the process table) and not installed (${FPM_LOOKED}), ` +
        'so there is no configuration to read (default /etc/php/VERSION/fpm/php-fpm.conf).',
    );
  }
  notes.push(
    'If they run on another machine, add it to badgateway.yaml (`badgateway init` writes one to edit) and triage it by name; ' +
      'for logs copied here, use `badgateway analyze --access FILE --error FILE`.',
  );
  const verdict = { status: 'unknown' as const, why: headline.replace(/: nothing to triage$/, ''), needs: 'a host where nginx or PHP-FPM runs, or log files named in badgateway.yaml' };
  return { verdict, causes: [], failures: { count502: 0, count504: 0, explained: false }, notes, headline };
}
