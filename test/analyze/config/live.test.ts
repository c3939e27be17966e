/**
 * Re-runs the real binaries (when installed) on the fixture sources and checks that the committed captures still
 * match what nginx / php-fpm print, and that our suggested buffer settings pass `nginx -t`.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configFindings, parseFpmTT, parseNginxT } from '../../../src/analyze/config/index.js';
import { FIXTURES, fixture } from './helpers.js';
import { FPM_BIN, fpmConfigOf } from '../../lab/lab.js';

const NGINX = '/usr/sbin/nginx';
// Whatever PHP version is installed (a missing one fails here, not skips: the suite needs php-fpm).
const FPM = FPM_BIN;
const CAPTURE_DIR = '/tmp/badgateway-fixture';

function run(cmd: string, args: string[]): { out: string; status: number | null } {
  // 2>&1 into one pipe keeps nginx's/FPM's own interleaving, like the captured fixtures.
  const r = spawnSync('sh', ['-c', `"$0" "$@" 2>&1`, cmd, ...args], { encoding: 'utf8' });
  return { out: r.stdout, status: r.status };
}

const dir = mkdtempSync(join(tmpdir(), 'badgateway-live-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
cpSync(join(FIXTURES, 'src'), dir, { recursive: true });
mkdirSync(join(dir, 'nginx-app/logs'), { recursive: true });
for (const d of ['fpm-app', 'fpm-debug']) {
  mkdirSync(join(dir, d, 'log'), { recursive: true });
  mkdirSync(join(dir, d, 'run'), { recursive: true });
}
const normalise = (s: string): string => s.split(dir).join(CAPTURE_DIR);

describe.skipIf(!existsSync(NGINX))('live nginx -T', () => {
  it('fixture app config: live dump parses to the same result as the committed capture', () => {
    const r = run(NGINX, ['-T', '-p', join(dir, 'nginx-app'), '-c', join(dir, 'nginx-app/nginx.conf')]);
    expect(r.status).toBe(0);
    const { messages: _a, ...live } = parseNginxT(normalise(r.out));
    const { messages: _b, ...captured } = parseNginxT(fixture('nginx-app.T.txt'));
    expect(live).toEqual(captured);
  });

  it("this machine's /etc/nginx parses cleanly", () => {
    const r = run(NGINX, ['-T']);
    const cfg = parseNginxT(r.out);
    expect(cfg.testOk).toBe(r.status === 0);
    expect(cfg.warnings).toEqual([]);
    expect(cfg.files[0]).toBe('/etc/nginx/nginx.conf');
  });

  it('the suggested fix for "too big header" passes nginx -t, and buffer_size alone would not', () => {
    const [finding] = configFindings({ nginx: parseNginxT(fixture('nginx-debian-default.T.txt')), observed: { tooBigHeaderCount: 1 } });
    expect(finding?.suggested).toBe('16k (with fastcgi_buffers 8 16k)');
    const conf = (body: string): string => {
      const file = join(dir, `buf-${Math.random().toString(36).slice(2)}.conf`);
      writeFileSync(file, `error_log stderr;\npid ${dir}/n.pid;\nevents {}\nhttp { access_log off; server { listen 127.0.0.1:18089; location / { ${body} fastcgi_pass 127.0.0.1:9; } } }\n`);
      return file;
    };
    expect(run(NGINX, ['-t', '-p', dir, '-c', conf('fastcgi_buffer_size 16k; fastcgi_buffers 8 16k;')]).status).toBe(0);
    const alone = run(NGINX, ['-t', '-p', dir, '-c', conf('fastcgi_buffer_size 16k;')]);
    expect(alone.status).not.toBe(0);
    expect(alone.out).toMatch(/fastcgi_busy_buffers_size/);
  });
});

describe('live php-fpm -tt', () => {
  it('finds a php-fpm binary to run', () => {
    expect(existsSync(FPM), `no ${FPM}: install php-fpm (or set LAB_PHP_FPM)`).toBe(true);
  });

  it.each(['fpm-app', 'fpm-debug'])('%s: live dump parses to the same pools/global as the committed capture', (name) => {
    const r = run(FPM, ['-tt', '-p', join(dir, name), '-y', join(dir, name, 'php-fpm.conf')]);
    const live = parseFpmTT(normalise(r.out));
    const captured = parseFpmTT(fixture(`${name}.tt.txt`));
    expect(live.warnings).toEqual([]);
    expect(live.pools).toEqual(captured.pools);
    expect(live.global).toEqual(captured.global);
    expect(live.testOk).toBe(true);
  });

  it.skipIf(fpmConfigOf(FPM) === null)("this machine's FPM config parses cleanly", () => {
    const r = run(FPM, ['-tt', '-y', fpmConfigOf(FPM)!]);
    const cfg = parseFpmTT(r.out);
    expect(cfg.source).toBe('tt');
    expect(cfg.warnings).toEqual([]);
    expect(cfg.testOk).toBe(r.status === 0);
    if (r.status === 0) expect(cfg.pools.length).toBeGreaterThan(0);
  });
});
