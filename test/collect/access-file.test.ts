/**
 * An access log analyzed on several threads gives exactly what one pass gives: on the lab's recorded logs (split down
 * to one line per range), on a generated 2-hour log, with windows, and where the parts cannot know (caps, requests
 * longer than the concurrency ring across a boundary) by analyzing again in one pass. The threads are real: the
 * compiled module (dist/, built by the test setup) runs its ranges in worker threads; the sources under test here run
 * them one after another on this thread, through the same merge. Ranges are a few per thread, taken in turn.
 */
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileLogFormat } from '../../src/analyze/access/format.js';
import type { Window } from '../../src/analyze/window.js';
import * as source from '../../src/collect/access-file.js';
import { generateUpstreamLog, UPSTREAM_WITH_CONNECTION } from '../support/access-log.js';
import { REPO_ROOT } from '../support/config.js';

type AccessFileModule = typeof source & { compileLogFormat: typeof compileLogFormat };
let compiled: AccessFileModule;
const sources: AccessFileModule = { ...source, compileLogFormat };
let dir: string;
let generated: string;

const LAB = join(REPO_ROOT, 'test', 'fixtures', 'lab');
const labLogs = readdirSync(LAB).map((scenario) => ({
  scenario,
  path: join(LAB, scenario, 'access.log'),
  spec: (JSON.parse(readFileSync(join(LAB, scenario, 'meta.json'), 'utf8')) as { logFormat: { spec: string } }).logFormat.spec,
}));

beforeAll(async () => {
  // The format too: a compiled format is only known to the module that compiled it.
  compiled = {
    ...((await import(join(REPO_ROOT, 'dist', 'collect', 'access-file.js'))) as typeof source),
    compileLogFormat: ((await import(join(REPO_ROOT, 'dist', 'analyze', 'access', 'format.js'))) as { compileLogFormat: typeof compileLogFormat }).compileLogFormat,
  };
  dir = mkdtempSync(join(tmpdir(), 'badgateway-access-file-'));
  generated = join(dir, 'generated.log');
  generateUpstreamLog(generated, 12_000, 7, { connection: true });
  // What real files also hold: a CRLF line, lines that do not parse, bytes that are not UTF-8, a last line without its newline.
  appendFileSync(generated, '127.0.0.1 - - [14/May/2024:14:00:01 +0200] "GET /crlf HTTP/1.1" 502 0 "-" "x" rt=0.010 uct="-" uht="-" urt="0.010" uaddr="10.0.0.11:9000" ustatus="502" cn=9\r\n');
  appendFileSync(generated, 'garbage line\n');
  appendFileSync(generated, Buffer.from([0x31, 0xff, 0xfe, 0x0a]));
  appendFileSync(generated, '127.0.0.1 - - [14/May/2024:14:00:02 +0200] "GET /last HTTP/1.1" 504 0 "-" "x" rt=60.000 uct="0.001" uht="-" urt="60.000" uaddr="10.0.0.12:9000" ustatus="504" cn=10');
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One pass over the whole file, the reference. */
function onePass(path: string, spec: string, window?: Window) {
  const size = readFileSync(path).length;
  const analyzer = source.analyzeRange(path, { start: 0, end: size }, { format: compileLogFormat(spec), ...(window ? { window } : {}) });
  return { stats: analyzer.result(), connections: [...analyzer.statusByConnection()].sort((a, b) => a[0] - b[0]) };
}

async function split(module: AccessFileModule, path: string, spec: string, threads: number, window?: Window) {
  const result = await module.analyzeAccessFile(path, { format: module.compileLogFormat(spec), threads, minBytesPerThread: 1, ...(window ? { window } : {}) });
  return { ...result, connections: [...result.connections].sort((a, b) => a[0] - b[0]) };
}

describe('lineAlignedRanges', () => {
  it('covers the file with ranges that start at line starts, whatever the count', () => {
    const text = readFileSync(generated);
    for (const count of [1, 2, 3, 7, 64]) {
      const ranges = source.lineAlignedRanges(generated, text.length, count);
      expect(ranges[0]!.start).toBe(0);
      expect(ranges.at(-1)!.end).toBe(text.length);
      for (let k = 1; k < ranges.length; k++) {
        expect(ranges[k]!.start).toBe(ranges[k - 1]!.end);
        expect(text[ranges[k]!.start - 1]).toBe(10);
      }
      expect(ranges.length).toBe(count);
    }
    // More ranges than lines: one per line, none empty.
    const lab = labLogs[0]!.path;
    const lines = readFileSync(lab, 'utf8').split('\n').filter(Boolean).length;
    expect(source.lineAlignedRanges(lab, readFileSync(lab).length, 1000)).toHaveLength(lines);
  });
});

describe.each([
  ['worker threads (compiled)', () => compiled],
  ['one thread, same merge (sources)', () => sources],
])('analyzeAccessFile in %s', (_name, module) => {
  it('equals one pass on every lab log, split into 2, 3 and one range per line', async () => {
    for (const log of labLogs) {
      const reference = onePass(log.path, log.spec);
      // Under the sources, down to one range per line; with workers, fewer (a thread each).
      for (const threads of module() === compiled ? [2] : [2, 3, 1000]) {
        const result = await split(module(), log.path, log.spec, threads);
        expect(result.singlePassBecause, `${log.scenario} in ${threads}`).toBeUndefined();
        expect(result.ranges, log.scenario).toBeGreaterThan(1);
        expect(result.threads, log.scenario).toBe(module() === compiled ? threads : 1);
        expect(result.stats, `${log.scenario} in ${threads}`).toEqual(reference.stats);
        expect(result.connections, `${log.scenario} in ${threads}`).toEqual(reference.connections);
      }
    }
  }, 120_000);

  it('equals one pass on a generated 2-hour log, whole and windowed', async () => {
    const start = Date.UTC(2024, 4, 14, 10, 0, 0);
    for (const window of [undefined, { from: start + 30 * 60_000, to: start + 75 * 60_000 }]) {
      const reference = onePass(generated, UPSTREAM_WITH_CONNECTION, window);
      expect(reference.stats.requests).toBeGreaterThan(2000);
      expect(reference.stats.count502).toBeGreaterThan(0);
      expect(reference.stats.unparsed).toBe(2);
      for (const threads of module() === compiled ? [2, 3] : [2, 7]) {
        const result = await split(module(), generated, UPSTREAM_WITH_CONNECTION, threads, window);
        expect(result.singlePassBecause).toBeUndefined();
        expect(result.ranges).toBe(threads * 2);
        expect(result.threads).toBe(module() === compiled ? threads : 1);
        expect(result.stats).toEqual(reference.stats);
        expect(result.connections).toEqual(reference.connections);
      }
    }
  }, 120_000);

  it('analyzes again in one pass where parts cannot tell: past the caps, or a request longer than the ring across a boundary', async () => {
    const line = (i: number, uri: string, addr: string, status: number, rt = '0.100', second = i % 60) =>
      `10.0.0.1 - - [14/May/2024:12:00:${String(second).padStart(2, '0')} +0000] "GET ${uri} HTTP/1.1" ${status} 0 "-" "x" rt=${rt} uct="0.000" uht="0.050" urt="${rt}" uaddr="${addr}" ustatus="${status}"\n`;
    const cases: Array<[string, RegExp, string[]]> = [
      ['peers', /^more than 1000 upstream peers$/, Array.from({ length: 1500 }, (_, i) => line(i, '/a', `10.1.${i >> 8}.${i & 255}:9000`, 200))],
      ['uris', /^more than 10000 failing URIs$/, Array.from({ length: 12_000 }, (_, i) => line(i, `/u/${i}`, '10.0.0.11:9000', 502))],
      [
        'ring',
        /^requests or lines out of order across a range boundary by more than the concurrency ring$/,
        [
          ...Array.from({ length: 300 }, (_, i) => line(i, '/a', '10.0.0.11:9000', 200, '0.100', Math.min(59, i))),
          // In the second half (the split is near line 200), started 5.5 hours before the first half's requests.
          line(59, '/long', '10.0.0.11:9000', 200, '19800.000'),
          ...Array.from({ length: 100 }, (_, i) => line(i, '/a', '10.0.0.11:9000', 200, '0.100', 59)),
        ],
      ],
    ];
    for (const [name, reason, lines] of cases) {
      const path = join(dir, `${name}.log`);
      writeFileSync(path, lines.join(''));
      const reference = onePass(path, 'upstream');
      const result = await split(module(), path, 'upstream', 2);
      expect(result.singlePassBecause ?? 'none', name).toMatch(reason);
      expect(result.ranges).toBe(1);
      expect(result.stats, name).toEqual(reference.stats);
    }
  }, 120_000);
});

it('a gzip file is streamed through one analyzer', async () => {
  const { gzipSync } = await import('node:zlib');
  const path = join(dir, 'lab.log.gz');
  const log = labLogs.find((l) => l.scenario === 'pool_exhausted')!;
  writeFileSync(path, gzipSync(readFileSync(log.path)));
  const result = await compiled.analyzeAccessFile(path, { format: compiled.compileLogFormat(log.spec), threads: 4, minBytesPerThread: 1 });
  expect(result).toMatchObject({ threads: 1, ranges: 1 });
  expect(result.stats).toEqual(onePass(log.path, log.spec).stats);
});
