/** When triage says "nothing to triage here", and when it must not (pure: discoveries as data). */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Discovery } from '../../src/collect/discover.js';
import { parseConfigText } from '../../src/config/index.js';
import { absenceDiagnosis } from '../../src/triage/absent.js';

const hosts = parseConfigText(
  'hosts:\n  localhost:\n    transport: local\n  copied:\n    transport: local\n    sources:\n      accessLog: /srv/logs/access.log\n',
  join(tmpdir(), 'absent.yaml'),
  {},
).hosts;
const host = hosts[0]!;
const pinned = hosts[1]!;

function discovery(extra: Partial<Discovery>): Discovery {
  return { host: 'localhost', at: 0, sources: {}, problems: [], missing: [], ...extra };
}

describe('absenceDiagnosis', () => {
  it('names both programs, installed or not, and what to do', () => {
    const d = absenceDiagnosis(host, discovery({ running: { nginx: false, fpm: false }, nginxBinary: '/usr/sbin/nginx' }))!;
    expect(d.headline).toBe('Neither nginx nor PHP-FPM is running: nothing to triage');
    expect(d.causes).toEqual([]);
    expect(d.notes[0]).toMatch(/^nginx: installed \(\/usr\/sbin\/nginx\) but not running/);
    expect(d.notes[1]).toMatch(/^PHP-FPM: not running .* and not installed/);
    expect(d.notes[2]).toContain('badgateway init');
    const none = absenceDiagnosis(host, discovery({ running: { nginx: false, fpm: false } }))!;
    expect(none.headline).toBe('Found neither nginx nor PHP-FPM: nothing to triage');
  });

  it('stays out of the way when either program runs, when it is unknown, or when log files are configured', () => {
    expect(absenceDiagnosis(host, discovery({ running: { nginx: true, fpm: false } }))).toBeNull();
    expect(absenceDiagnosis(host, discovery({ running: { nginx: false, fpm: true } }))).toBeNull();
    // e.g. the discovery scripts could not run (sudo refused): nothing is known, so nothing is claimed
    expect(absenceDiagnosis(host, discovery({}))).toBeNull();
    expect(absenceDiagnosis(host, discovery({ running: { nginx: false, fpm: false }, nginxMaster: { pid: 1, title: 'nginx: master process' } }))).toBeNull();
    expect(absenceDiagnosis(pinned, discovery({ running: { nginx: false, fpm: false } }))).toBeNull();
  });
});
