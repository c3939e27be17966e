import { describe, expect, it } from 'vitest';
import { parseFpmDuration, parseNginxDuration, parseNginxSize, parsePhpSize } from '../../../src/analyze/config/index.js';

describe('parseNginxDuration (ngx_parse_time rules)', () => {
  it.each([
    ['60', 60],
    ['60s', 60],
    ['1m', 60],
    ['1m30s', 90],
    ['1m30', 90],
    ['1h 30m', 5400],
    ['500ms', 0.5],
    ['1s500ms', 1.5],
    ['2d', 172800],
    ['1w', 604800],
    ['0', 0],
    ['5 5', 10],
    ['1ms', 0.001],
  ])('%s → %s s', (text, secs) => {
    expect(parseNginxDuration(text)).toBe(secs);
  });

  // Checked against `nginx -t` 1.22 with fastcgi_read_timeout: each of these is "invalid value".
  it.each(['', 'abc', '1x', '30s1m', '1m1m', '-1', '1.5s', 's', '1M', '1y', '5 5 5'])('rejects %j', (text) => {
    expect(parseNginxDuration(text)).toBeUndefined();
  });

  it('seconds slots (fail_timeout) accept months/years but not ms', () => {
    expect(parseNginxDuration('1M', { seconds: true })).toBe(2592000);
    expect(parseNginxDuration('1y', { seconds: true })).toBe(31536000);
    expect(parseNginxDuration('30s', { seconds: true })).toBe(30);
    expect(parseNginxDuration('500ms', { seconds: true })).toBeUndefined();
  });
});

describe('parseNginxSize', () => {
  it.each([
    ['4096', 4096],
    ['4k', 4096],
    ['16K', 16384],
    ['1m', 1048576],
    ['2M', 2097152],
    ['1g', 1073741824],
  ])('%s → %s bytes', (text, bytes) => {
    expect(parseNginxSize(text)).toBe(bytes);
  });

  it.each(['', '4kb', 'k', '1.5k', '-4k'])('rejects %j', (text) => {
    expect(parseNginxSize(text)).toBeUndefined();
  });
});

describe('parseFpmDuration', () => {
  it.each([
    ['0', 0],
    ['30', 30],
    ['30s', 30],
    ['1m', 60],
    ['1h', 3600],
    ['1d', 86400],
    ['0s', 0],
  ])('%s → %s s', (text, secs) => {
    expect(parseFpmDuration(text)).toBe(secs);
  });

  it.each(['', 'undefined', '1m30s', '5x', 'abc'])('rejects %j', (text) => {
    expect(parseFpmDuration(text)).toBeUndefined();
  });
});

describe('parsePhpSize', () => {
  it('parses php.ini sizes and keeps -1 as unlimited', () => {
    expect(parsePhpSize('128M')).toBe(128 * 1024 * 1024);
    expect(parsePhpSize('1G')).toBe(1024 ** 3);
    expect(parsePhpSize('512k')).toBe(512 * 1024);
    expect(parsePhpSize('1000')).toBe(1000);
    expect(parsePhpSize('-1')).toBe(-1);
    expect(parsePhpSize('lots')).toBeUndefined();
  });
});
