/** The one reading of nginx/FPM addresses that discovery and the config findings share. */
import { describe, expect, it } from 'vitest';
import { fpmListen, nginxListen, nginxTarget, targetReachesListen } from '../../../src/analyze/config/endpoint.js';

describe('endpoints', () => {
  it('reads nginx targets and FPM listen addresses', () => {
    expect(nginxTarget('unix:/run/php//fpm.sock')).toEqual({ kind: 'unix', path: '/run/php/fpm.sock' });
    expect(nginxTarget('[::1]:9000')).toEqual({ kind: 'tcp', host: '::1', port: 9000 });
    expect(nginxTarget('$backend:9000')).toBeUndefined();
    expect(fpmListen('9000')).toEqual({ kind: 'tcp', host: '', port: 9000 });
    expect(fpmListen('/run/php/fpm.sock/')).toEqual({ kind: 'unix', path: '/run/php/fpm.sock' });
    expect(nginxListen('127.0.0.1')).toEqual({ host: '127.0.0.1', port: 80 });
    expect(nginxListen('[::]:8080')).toEqual({ host: '::', port: 8080 });
    expect(nginxListen('unix:/run/nginx.sock')).toBeUndefined();
  });

  it('matches a target to the pool that listens there', () => {
    expect(targetReachesListen('unix:/run/php/fpm.sock', '/run/php/./fpm.sock')).toBe(true);
    expect(targetReachesListen('127.0.0.1:9000', '9000')).toBe(true);
    expect(targetReachesListen('localhost:9000', '127.0.0.1:9000')).toBe(true);
    expect(targetReachesListen('10.0.0.5:9000', '127.0.0.1:9000')).toBe(false);
    expect(targetReachesListen('127.0.0.1:9001', '9000')).toBe(false);
    expect(targetReachesListen('unix:/run/a.sock', '127.0.0.1:9000')).toBe(false);
    expect(targetReachesListen('$upstream', '9000')).toBe(false);
  });
});
