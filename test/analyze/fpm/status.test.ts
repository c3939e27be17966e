import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseFpmStatus, type FpmStatus } from '../../../src/analyze/fpm/index.js';

const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), 'utf8');

function ok(r: FpmStatus | { error: string }): FpmStatus {
  if ('error' in r) throw new Error(`unexpected error result: ${r.error}`);
  return r;
}

// Same shape as the reference text example (netdata testdata): labels padded to column 23.
const TEXT = `pool:                 www
process manager:      dynamic
start time:           21/Aug/2019:09:04:50 +0200
start since:          1079
accepted conn:        20
listen queue:         0
max listen queue:     0
listen queue len:     0
idle processes:       1
active processes:     1
total processes:      2
max active processes: 1
max children reached: 0
slow requests:        0
`;

const proc = (pid: number, state: string, duration: string, uri: string, mem: number): string => `
************************
pid:                  ${pid}
state:                ${state}
start time:           21/Aug/2019:09:04:50 +0200
start since:          1079
requests:             10
request duration:     ${duration}
request method:       GET
request URI:          ${uri}
content length:       0
user:                 -
script:               -
last request cpu:     0.00
last request memory:  ${mem}
`;

describe('parseFpmStatus: text', () => {
  it('plain text', () => {
    const s = ok(parseFpmStatus(TEXT));
    expect(s).toMatchObject({
      format: 'text',
      pool: 'www',
      processManager: 'dynamic',
      startTime: Date.UTC(2019, 7, 21, 7, 4, 50),
      startSince: 1079,
      acceptedConn: 20,
      listenQueue: 0,
      maxListenQueue: 0,
      listenQueueLen: 0,
      idleProcesses: 1,
      activeProcesses: 1,
      totalProcesses: 2,
      maxActiveProcesses: 1,
      maxChildrenReached: 0,
      slowRequests: 0,
      processes: [],
      busyRatio: 0.5,
      warnings: [],
    });
    expect(s.listenQueueMeaningful).toBeUndefined();
  });

  it('?full with the oddities real servers print: underflowed duration, more processes than total', () => {
    const text =
      TEXT + proc(67858, 'Running', '697', '/status?full', 0) + proc(67859, 'Idle', '536', '/status', 2097152) + proc(67860, 'Idle', '18446744073709551227', '/index.php?a=b&c="d"', 2093045);
    const s = ok(parseFpmStatus(text));
    expect(s.processes).toHaveLength(3);
    expect(s.processes[0]).toEqual({
      pid: 67858,
      state: 'Running',
      startTime: Date.UTC(2019, 7, 21, 7, 4, 50),
      startSince: 1079,
      requests: 10,
      requestDurationUs: 697,
      requestMethod: 'GET',
      requestUri: '/status?full',
      contentLength: 0,
      user: null,
      script: null,
      lastRequestCpu: 0,
      lastRequestMemory: 0,
    });
    expect(s.processes[2]!.requestDurationUs).toBeNull();
    expect(s.processes[2]!.requestUri).toBe('/index.php?a=b&c="d"');
    expect(s.processStates).toEqual({ Running: 1, Idle: 2 });
    expect(s.warnings.some((w) => w.includes('18446744073709551227'))).toBe(true);
    expect(s.warnings.some((w) => w.includes('3 processes listed but total processes is 2'))).toBe(true);
  });

  it('real PHP 8.2 ?full text', () => {
    const s = ok(parseFpmStatus(fixture('status-8.2-full.txt')));
    expect(s.processes[0]).toMatchObject({ pid: 13065, state: 'Running', requestUri: '/status?full', requestDurationUs: 102 });
    expect(s.startTime).toBe(Date.UTC(2026, 10, 25, 16, 42, 48));
    expect(s.warnings).toEqual([]);
  });

  it('flags active > total', () => {
    const s = ok(parseFpmStatus(TEXT.replace('active processes:     1', 'active processes:     7')));
    expect(s.busyRatio).toBe(3.5);
    expect(s.warnings[0]).toMatch(/active processes \(7\) > total processes \(2\)/);
  });
});

describe('parseFpmStatus: json', () => {
  it('?json (reference example)', () => {
    const s = ok(
      parseFpmStatus(
        '{"pool":"www","process manager":"dynamic","start time":1566371090,"start since":1119,"accepted conn":22,"listen queue":0,"max listen queue":0,"listen queue len":0,"idle processes":1,"active processes":1,"total processes":2,"max active processes":1,"max children reached":0,"slow requests":0}',
      ),
    );
    expect(s).toMatchObject({ format: 'json', pool: 'www', startTime: 1566371090_000, acceptedConn: 22, processes: [] });
  });

  it('real PHP 8.2 ?json&full (escaped slash in URI)', () => {
    const s = ok(parseFpmStatus(fixture('status-8.2-full.json')));
    expect(s.format).toBe('json');
    expect(s.processes[0]).toMatchObject({ pid: 13065, requestUri: '/status?json&full', requestDurationUs: 76, startTime: 1795624968_000 });
  });

  it('underflowed duration on a Running process and a real listen queue len (hipages fixture shape)', () => {
    const s = ok(
      parseFpmStatus(
        '{"pool":"www","process manager":"static","start time":1563811009,"start since":38,"accepted conn":12,"listen queue":0,"max listen queue":0,"listen queue len":128,"idle processes":1,"active processes":1,"total processes":2,"max active processes":1,"max children reached":0,"slow requests":0,"processes":[{"pid":23,"state":"Running","start time":1563811009,"start since":38,"requests":6,"request duration":18446744073709550774,"request method":"GET","request uri":"/status?json&full","content length":0,"user":"-","script":"-","last request cpu":0.00,"last request memory":0},{"pid":24,"state":"Idle","start time":1563811009,"start since":38,"requests":6,"request duration":312,"request method":"GET","request uri":"/","content length":0,"user":"-","script":"/app/index.php","last request cpu":3.21,"last request memory":2097152}]}',
        { listen: '127.0.0.1:9000' },
      ),
    );
    expect(s.listenQueueLen).toBe(128);
    expect(s.listenQueueMeaningful).toBe(true);
    expect(s.processes[0]!.requestDurationUs).toBeNull();
    expect(s.processes[1]).toMatchObject({ script: '/app/index.php', lastRequestCpu: 3.21, lastRequestMemory: 2097152 });
  });

  it('invalid JSON from an unescaped query string falls back to a lenient parse', () => {
    const bad =
      '{"pool":"www","process manager":"ondemand","start time":1566371090,"start since":5,"accepted conn":3,"listen queue":0,"max listen queue":0,"listen queue len":0,"idle processes":0,"active processes":1,"total processes":1,"max active processes":1,"max children reached":2,"slow requests":1, "processes":[{"pid":77,"state":"Running","start time":1566371090,"start since":5,"requests":3,"request duration":1500,"request method":"GET","request uri":"/status?json&full&q="x\\y","content length":0,"user":"-","script":"-","last request cpu":0.00,"last request memory":0}]}';
    expect(() => JSON.parse(bad)).toThrow();
    const s = ok(parseFpmStatus(bad));
    expect(s.pool).toBe('www');
    expect(s.processManager).toBe('ondemand');
    expect(s.maxChildrenReached).toBe(2);
    expect(s.slowRequests).toBe(1);
    expect(s.processes).toHaveLength(1);
    expect(s.processes[0]).toMatchObject({ pid: 77, requestDurationUs: 1500, requestUri: '/status?json&full&q="x\\y', contentLength: 0 });
    expect(s.warnings[0]).toMatch(/lenient/);
  });
});

describe('parseFpmStatus: other forms and error bodies', () => {
  it('real PHP 8.2 ?openmetrics', () => {
    const s = ok(parseFpmStatus(fixture('status-8.2.openmetrics')));
    expect(s).toMatchObject({
      format: 'openmetrics',
      pool: 'www',
      processManager: 'dynamic',
      startTime: null,
      startSince: 2,
      acceptedConn: 6,
      listenQueueLen: 0,
      activeProcesses: 1,
      totalProcesses: 1,
      slowRequests: 0,
    });
  });

  it('exporter-style metrics with labels', () => {
    const s = ok(parseFpmStatus('phpfpm_up{pool="api"} 1\nphpfpm_accepted_connections{pool="api"} 9\nphpfpm_total_processes{pool="api"} 4\nphpfpm_active_processes{pool="api"} 4\n'));
    expect(s).toMatchObject({ pool: 'api', acceptedConn: 9, busyRatio: 1 });
  });

  it('real PHP 8.2 ?xml&full and ?html&full', () => {
    const x = ok(parseFpmStatus(fixture('status-8.2-full.xml')));
    expect(x.format).toBe('xml');
    expect(x.processes[0]!.requestUri).toBe(`/status?json&full&x="'<>`);
    expect(x.startTime).toBe(1795625120_000);
    const h = ok(parseFpmStatus(fixture('status-8.2-full.html')));
    expect(h.format).toBe('html');
    expect(h.pool).toBe('www');
    expect(h.startTime).toBe(Date.UTC(2026, 10, 25, 16, 45, 20));
    expect(h.processes[0]).toMatchObject({ pid: 14688, state: 'Running', requestUri: '/status?html&full', requestDurationUs: 304 });
  });

  it.each([
    ['Internal error. Please review log file for errors.', /Internal error/],
    ['Server busy. Please try again later.', /Server busy/],
    ['File not found.\n', /File not found/],
    ['pong', /ping/],
    ['', /empty/],
    ['<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>', /HTML page.*502 Bad Gateway/],
    ['hello: world\nfoo: bar', /unrecognised text/],
    ['{"unexpected": true}', /unrecognised json/],
  ])('error result for %j', (body, re) => {
    const r = parseFpmStatus(body);
    expect('error' in r).toBe(true);
    expect((r as { error: string }).error).toMatch(re);
  });

  it('listen option: unix socket means listen queue figures are meaningless', () => {
    for (const listen of ['/run/php/php8.2-fpm.sock', 'unix:/run/php/php8.2-fpm.sock', 'fastcgi://unix:/run/php/x.sock:']) {
      expect(ok(parseFpmStatus(TEXT, { listen })).listenQueueMeaningful).toBe(false);
    }
    for (const listen of ['9000', '127.0.0.1:9000', '[::1]:9000', 'tcp://10.0.0.5:9000']) {
      expect(ok(parseFpmStatus(TEXT, { listen })).listenQueueMeaningful).toBe(true);
    }
  });

  it('never throws on garbage', () => {
    let a = 12345;
    const r = (): number => (a = (a * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const dec = new TextDecoder();
    for (let i = 0; i < 300; i++) {
      const bytes = Uint8Array.from({ length: Math.floor(r() * 300) }, () => Math.floor(r() * 256));
      const prefix = ['', '{', '<', 'pool: ', '# HELP phpfpm_', '{"pool":"'][i % 6]!;
      const out = parseFpmStatus(prefix + dec.decode(bytes));
      expect(typeof out).toBe('object');
    }
    const text = fixture('status-8.2-full.json');
    for (let cut = 0; cut < text.length; cut += 7) {
      expect(() => parseFpmStatus(text.slice(0, cut))).not.toThrow();
    }
  });
});
