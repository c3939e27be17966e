/**
 * Windowed reads of remote logs against a real OpenSSH server (test/support/sshd.ts) and the shipped catalog: the
 * logs are real files in a temp dir, read over SSH with the catalog's log.* commands.
 */
import { appendFileSync, closeSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileLogFormat, parseAccessLine } from '../../src/analyze/access/index.js';
import { loadCatalog, type Catalog, type RenderedCommand } from '../../src/catalog/index.js';
import { readWindow, type WindowedReadOptions } from '../../src/collect/remote-log.js';
import { locateWindowStart, timedLines, type Probe } from '../../src/collect/remote-log-search.js';
import { defaultCatalogDir, parseConfigText, type Host } from '../../src/config/index.js';
import { ExecError } from '../../src/errors.js';
import { SshExecutor, type ExecOptions, type Executor } from '../../src/exec/index.js';
import { createLogger } from '../../src/log/index.js';
import { startSshd, type TestSshd } from '../support/sshd.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY0 = Date.UTC(2024, 4, 14);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

let sshd: TestSshd;
let catalog: Catalog;
let executor: SshExecutor;
let work: string;
const logger = createLogger({ level: 'silent' });

beforeAll(async () => {
  sshd = await startSshd();
  catalog = loadCatalog(defaultCatalogDir());
  executor = new SshExecutor({ logger });
  work = mkdtempSync(join(tmpdir(), 'badgateway-remote-log-'));
});
afterAll(async () => {
  await executor?.close();
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function hostFor(sources: Record<string, string>, name = 'web-lab'): Host {
  return parseConfigText(
    JSON.stringify({
      hosts: {
        [name]: {
          address: '127.0.0.1',
          port: sshd.port,
          user: sshd.user,
          privateKey: sshd.clientKey,
          knownHosts: sshd.knownHosts,
          connectTimeout: '5s',
          sources,
        },
      },
    }),
    join(work, 'inline.yaml'),
  ).hosts[0]!;
}

// ---- log generation ----

function timeLocal(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

function accessLine(time: number, i: number): string {
  const status = i % 97 === 0 ? 502 : 200;
  return (
    `10.1.${(i >> 8) & 255}.${i & 255} - - [${timeLocal(time)}] "GET /api/v1/items/${i % 10007}?page=${i % 9} HTTP/1.1" ` +
    `${status} ${1000 + (i % 5000)} "-" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0" ` +
    `rt=0.0${pad(i % 100)} uct="0.000" uht="0.0${pad(i % 90)}" urt="0.0${pad(i % 100)}" uaddr="127.0.0.1:9000" ustatus="${status}"\n`
  );
}

interface Generated {
  path: string;
  size: number;
  /** Line start offsets and times, for the expected window. */
  offsets: Float64Array;
  times: Float64Array;
}

/** `lines` access-log lines evenly spread over [start, end), written in 1 MB batches. */
function writeAccessLog(path: string, start: number, end: number, lines: number, firstIndex = 0): Generated {
  const fd = openSync(path, 'w');
  const offsets = new Float64Array(lines);
  const times = new Float64Array(lines);
  let offset = 0;
  let batch: string[] = [];
  let batchBytes = 0;
  for (let i = 0; i < lines; i++) {
    const time = start + Math.floor(((end - start) * i) / lines);
    const line = accessLine(time, firstIndex + i);
    offsets[i] = offset;
    times[i] = Math.floor(time / 1000) * 1000;
    offset += line.length;
    batch.push(line);
    batchBytes += line.length;
    if (batchBytes >= 1 << 20) {
      writeSync(fd, batch.join(''));
      batch = [];
      batchBytes = 0;
    }
  }
  if (batch.length) writeSync(fd, batch.join(''));
  closeSync(fd);
  utimesSync(path, end / 1000, end / 1000);
  return { path, size: offset, offsets, times };
}

/** Offset of the first line whose (second-precision) time is >= from. */
function offsetAt(log: Generated, from: number): number {
  for (let i = 0; i < log.times.length; i++) if (log.times[i]! >= from) return log.offsets[i]!;
  return log.size;
}

const TIME_LOCAL_RE = /\[(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\]/;

/** `[$time_local]` of an access line. */
function accessTime(line: string): number | null {
  const m = TIME_LOCAL_RE.exec(line);
  if (!m) return null;
  const utc = Date.UTC(Number(m[3]), MONTHS.indexOf(m[2]!), Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  const offset = (Number(m[8]) * 60 + Number(m[9])) * MIN * (m[7] === '-' ? -1 : 1);
  return utc - offset;
}

const ERROR_TIME_RE = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}) /;

function errorTime(line: string): number | null {
  const m = ERROR_TIME_RE.exec(line);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) : null;
}

async function collect(options: Omit<WindowedReadOptions, 'onData' | 'catalog' | 'executor'> & { executor?: Executor }) {
  const chunks: Buffer[] = [];
  const result = await readWindow({ executor, catalog, ...options, onData: (c) => chunks.push(Buffer.from(c)) });
  return { result, data: Buffer.concat(chunks) };
}

/** Runs a callback before delegating each command to the real executor, which still does the I/O. */
class HookedExecutor implements Executor {
  constructor(
    private readonly inner: Executor,
    private readonly hook: (command: RenderedCommand) => void,
  ) {}
  run(host: Host, command: RenderedCommand, options?: ExecOptions) {
    this.hook(command);
    return this.inner.run(host, command, options);
  }
  close() {
    return Promise.resolve();
  }
}

function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

// ---- the tests ----

describe('readWindow over a real sshd', () => {
  let big: Generated;
  let bigHost: Host;
  const bigEnd = DAY0 + 24 * HOUR;

  beforeAll(() => {
    const dir = mkdtempSync(join(work, 'big-'));
    // ~200 MB over a day: the last 15 minutes are ~2 MB.
    big = writeAccessLog(join(dir, 'access.log'), DAY0, bigEnd, 820_000);
    bigHost = hostFor({ accessLog: big.path });
  }, 120_000);

  it('reads only the last 15 minutes of a 200 MB log, at a cost that follows the window', async () => {
    expect(big.size).toBeGreaterThan(190_000_000);
    const from = bigEnd - 15 * MIN;
    const { result, data } = await collect({ host: bigHost, source: 'accessLog', from, timeOf: accessTime });
    const start = offsetAt(big, from);
    const window = big.size - start;
    const expected = readFileSync(big.path).subarray(start);
    expect(data.length).toBe(window);
    expect(data.equals(expected)).toBe(true);
    expect(result.startFound).toBe(true);
    expect(result.files).toEqual([{ path: big.path, generation: 0, compressed: false, size: big.size, startOffset: start, bytesStreamed: window }]);
    expect(result.bytesFetched).toBeLessThan(3 * window + (1 << 20));
    expect(result.probes).toBeLessThan(30);
    expect(result.notes).toEqual([]);
    if (process.env.BADGATEWAY_DEBUG) console.log(result);
    // Every streamed line is in the window, parsed by the real access-log parser.
    const format = compileLogFormat('upstream');
    const lines = data.toString('utf8').split('\n').filter(Boolean);
    expect(lines.every((l) => (parseAccessLine(format, l)?.time ?? 0) >= from)).toBe(true);
  });

  // Regression: the stat's tail sample skipped files between one and two sample blocks (16-32 KiB),
  // so a window near their end came back empty.
  it.each([30, 70, 100, 120, 200])('finds a window near the end of a small log (%i lines)', async (count) => {
    const dir = mkdtempSync(join(work, `small-${count}-`));
    const log = writeAccessLog(join(dir, 'access.log'), DAY0, DAY0 + HOUR, count);
    const from = DAY0 + HOUR - 5 * MIN;
    const { data } = await collect({ host: hostFor({ accessLog: log.path }), source: 'accessLog', from, timeOf: accessTime });
    const start = offsetAt(log, from);
    expect(log.size - start).toBeGreaterThan(0);
    expect(data.equals(readFileSync(log.path).subarray(start))).toBe(true);
  });

  it('reads the whole current file when no window start is given', async () => {
    const dir = mkdtempSync(join(work, 'whole-'));
    const log = writeAccessLog(join(dir, 'access.log'), DAY0, DAY0 + HOUR, 1000);
    const { result, data } = await collect({ host: hostFor({ accessLog: log.path }), source: 'accessLog', timeOf: accessTime });
    expect(data.equals(readFileSync(log.path))).toBe(true);
    expect(result.startFound).toBe(true);
  });

  it('keeps the newest maxBytes of a window that is too big, and says so', async () => {
    const { result, data } = await collect({ host: bigHost, source: 'accessLog', timeOf: accessTime, maxBytes: 1 << 20 });
    expect(result.capped).toBe(true);
    expect(result.notes.join(' ')).toMatch(/maxBytes/);
    expect(data.length).toBeLessThanOrEqual(1 << 20);
    expect(data.length).toBeGreaterThan((1 << 20) - 2000);
    // The partial first line was dropped: the data is whole lines ending the file.
    expect(
      readFileSync(big.path)
        .subarray(big.size - data.length)
        .equals(data),
    ).toBe(true);
    expect(accessTime(data.toString('utf8', 0, 400).split('\n')[0]!)).not.toBeNull();
  });

  it('rejects with the ExecError of a connection dropped mid-stream, without hanging', async () => {
    const listener = Number(readFileSync(join(sshd.dir, 'sshd.pid'), 'utf8'));
    const own = new SshExecutor({ logger });
    let killed = false;
    const started = Date.now();
    try {
      const error = await readWindow({
        executor: own,
        catalog,
        host: bigHost,
        source: 'accessLog',
        timeOf: accessTime,
        onData: () => {
          if (killed) return;
          killed = true;
          // The server side of this connection dies: sshd's session processes (not the listener).
          for (const pid of descendants(listener)) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              /* already gone */
            }
          }
        },
      }).catch((e: unknown) => e);
      expect(killed).toBe(true);
      expect(error).toBeInstanceOf(ExecError);
      expect((error as Error).message).toMatch(/web-lab: the connection was lost while log\.read-stream was running/);
      // A hang would run into the test's own timeout; this is the bound with a loaded machine's margin.
      expect(Date.now() - started).toBeLessThan(25_000);
    } finally {
      await own.close();
      // Every sshd session was killed, the shared executor's too; when its client notices is a race
      // the next test must not run into ("No response from server"): it gets a new connection.
      await executor.close();
      executor = new SshExecutor({ logger });
    }
  });

  it('stops when cancelled through its AbortSignal', async () => {
    const controller = new AbortController();
    const error = await readWindow({
      executor,
      catalog,
      host: bigHost,
      source: 'accessLog',
      timeOf: accessTime,
      signal: controller.signal,
      onData: () => controller.abort(),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecError);
    expect((error as Error).message).toMatch(/cancelled/);
  });
});

describe('readWindow across rotated generations', () => {
  it('starts the window in access.log.1 when it begins before the current file', async () => {
    const dir = mkdtempSync(join(work, 'rot1-'));
    const base = join(dir, 'access.log');
    const older = writeAccessLog(`${base}.1`, DAY0, DAY0 + 12 * HOUR, 200_000);
    const current = writeAccessLog(base, DAY0 + 12 * HOUR, DAY0 + 12 * HOUR + 10 * MIN, 3000, 200_000);
    const from = DAY0 + 11 * HOUR + 50 * MIN;
    const { result, data } = await collect({ host: hostFor({ accessLog: base }), source: 'accessLog', from, timeOf: accessTime });
    const start = offsetAt(older, from);
    const expected = Buffer.concat([readFileSync(older.path).subarray(start), readFileSync(current.path)]);
    expect(data.equals(expected)).toBe(true);
    expect(result.startFound).toBe(true);
    expect(result.files.map((f) => [f.path, f.startOffset])).toEqual([
      [older.path, start],
      [base, 0],
    ]);
    expect(result.bytesFetched).toBeLessThan(3 * expected.length + (1 << 20));
  });

  it('streams a .2.gz generation that can overlap the window, and not the older ones', async () => {
    const dir = mkdtempSync(join(work, 'rotgz-'));
    const base = join(dir, 'access.log');
    const g3 = writeAccessLog(`${base}.3`, DAY0 - 6 * HOUR, DAY0, 20_000, 0);
    const g2 = writeAccessLog(`${base}.2`, DAY0, DAY0 + 6 * HOUR, 20_000, 20_000);
    for (const g of [g2, g3]) {
      writeFileSync(`${g.path}.gz`, gzipSync(readFileSync(g.path)));
      rmSync(g.path);
      utimesSync(`${g.path}.gz`, (g.times[g.times.length - 1]! + 1000) / 1000, (g.times[g.times.length - 1]! + 1000) / 1000);
    }
    const g1 = writeAccessLog(`${base}.1`, DAY0 + 6 * HOUR, DAY0 + 12 * HOUR, 20_000, 40_000);
    const g0 = writeAccessLog(base, DAY0 + 12 * HOUR, DAY0 + 12 * HOUR + 30 * MIN, 2000, 60_000);
    const host = hostFor({ accessLog: base });

    const from = DAY0 + 5 * HOUR;
    const { result, data } = await collect({ host, source: 'accessLog', from, timeOf: accessTime });
    const g2text = gunzipSync(readFileSync(`${g2.path}.gz`));
    const expected = Buffer.concat([g2text.subarray(offsetAt(g2, from)), readFileSync(g1.path), readFileSync(g0.path)]);
    expect(data.equals(expected)).toBe(true);
    expect(result.startFound).toBe(true);
    expect(result.files.map((f) => [f.path, f.compressed])).toEqual([
      [`${base}.2.gz`, true],
      [`${base}.1`, false],
      [base, false],
    ]);
    expect(result.files[0]!.startOffset).toBe(offsetAt(g2, from));
    // .3.gz was judged by its mtime and never fetched.
    expect(result.bytesFetched).toBeLessThan(readFileSync(`${g2.path}.gz`).length + g1.size + g0.size + (1 << 20));

    // A window older than every generation: everything is read, and the note names the oldest file.
    const early = await collect({ host, source: 'accessLog', from: DAY0 - 7 * HOUR, timeOf: accessTime });
    expect(early.result.startFound).toBe(false);
    expect(early.result.notes.join(' ')).toMatch(/window starts before the oldest rotated file .*access\.log\.3\.gz/);
    expect(early.data.length).toBe(g3.size + g2.size + g1.size + g0.size);
  });

  it('follows dateext rotation (access.log-YYYYMMDD, older ones gzipped), as RHEL rotates', async () => {
    const dir = mkdtempSync(join(work, 'dateext-'));
    const base = join(dir, 'access.log');
    const d2 = writeAccessLog(`${base}-20240513`, DAY0 - 12 * HOUR, DAY0, 20_000, 0);
    writeFileSync(`${d2.path}.gz`, gzipSync(readFileSync(d2.path)));
    rmSync(d2.path);
    const d1 = writeAccessLog(`${base}-20240514`, DAY0, DAY0 + 12 * HOUR, 20_000, 20_000);
    const d0 = writeAccessLog(base, DAY0 + 12 * HOUR, DAY0 + 12 * HOUR + 30 * MIN, 2000, 40_000);
    const from = DAY0 - HOUR;
    const { result, data } = await collect({ host: hostFor({ accessLog: base }), source: 'accessLog', from, timeOf: accessTime });
    const d2text = gunzipSync(readFileSync(`${d2.path}.gz`));
    expect(data.equals(Buffer.concat([d2text.subarray(offsetAt(d2, from)), readFileSync(d1.path), readFileSync(d0.path)]))).toBe(true);
    expect(result.startFound).toBe(true);
    expect(result.files.map((f) => [f.path, f.compressed])).toEqual([
      [`${base}-20240513.gz`, true],
      [`${base}-20240514`, false],
      [base, false],
    ]);
  });

  it('notices a rotation during the search and reads the rotated-away file and the new one', async () => {
    const dir = mkdtempSync(join(work, 'rotsearch-'));
    const base = join(dir, 'access.log');
    const old = writeAccessLog(base, DAY0, DAY0 + 12 * HOUR, 100_000);
    const oldBytes = readFileSync(base);
    let fresh: Generated | undefined;
    const hooked = new HookedExecutor(executor, (command) => {
      if (command.id === 'log.read-block' && !fresh) {
        renameSync(base, `${base}.1`);
        fresh = writeAccessLog(base, DAY0 + 12 * HOUR, DAY0 + 12 * HOUR + 5 * MIN, 500, 100_000);
      }
    });
    const from = DAY0 + 11 * HOUR + 45 * MIN;
    const { result, data } = await collect({ executor: hooked, host: hostFor({ accessLog: base }), source: 'accessLog', from, timeOf: accessTime });
    expect(fresh).toBeDefined();
    const expected = Buffer.concat([oldBytes.subarray(offsetAt(old, from)), readFileSync(base)]);
    expect(data.equals(expected)).toBe(true);
    expect(result.notes.join(' ')).toMatch(/rotated while the window was being searched/);
    expect(result.files.map((f) => f.path)).toEqual([`${base}.1`, base]);
  });

  it('notices a rotation between the search and the stream: reads .1 from the found offset, then the new file', async () => {
    const dir = mkdtempSync(join(work, 'rotstream-'));
    const base = join(dir, 'access.log');
    const old = writeAccessLog(base, DAY0, DAY0 + 12 * HOUR, 100_000);
    const oldBytes = readFileSync(base);
    let rotated = false;
    let probesBefore = 0;
    const hooked = new HookedExecutor(executor, (command) => {
      if (command.id === 'log.read-block' && !rotated) probesBefore++;
      if (command.id === 'log.read-stream' && !rotated) {
        rotated = true;
        renameSync(base, `${base}.1`);
        // nginx went on writing to the old file until it reopened its logs.
        writeFileSync(`${base}.1`, accessLine(DAY0 + 12 * HOUR - 1, 99_999), { flag: 'a' });
        writeAccessLog(base, DAY0 + 12 * HOUR, DAY0 + 12 * HOUR + 5 * MIN, 500, 100_000);
      }
    });
    const from = DAY0 + 11 * HOUR + 45 * MIN;
    const { result, data } = await collect({ executor: hooked, host: hostFor({ accessLog: base }), source: 'accessLog', from, timeOf: accessTime });
    expect(rotated).toBe(true);
    const start = offsetAt(old, from);
    const expected = Buffer.concat([readFileSync(`${base}.1`).subarray(start), readFileSync(base)]);
    expect(oldBytes.subarray(start).equals(readFileSync(`${base}.1`).subarray(start, oldBytes.length))).toBe(true);
    expect(data.equals(expected)).toBe(true);
    expect(result.notes.join(' ')).toMatch(/access\.log was renamed while it was being read: read .*access\.log\.1 from the window start, then the new .*access\.log/);
    expect(result.files.map((f) => [f.path, f.startOffset])).toEqual([
      [`${base}.1`, start],
      [base, 0],
    ]);
    // No second search: only the one stat after the rotation.
    expect(result.probes).toBe(probesBefore + 2);
  });
});

describe('readWindow and copytruncate', () => {
  it('notices a truncation in place between the search and the stream and reads the copy, then the file', async () => {
    const dir = mkdtempSync(join(work, 'copytrunc-'));
    const base = join(dir, 'access.log');
    const old = writeAccessLog(base, DAY0, DAY0 + 12 * HOUR, 100_000);
    let done = false;
    const hooked = new HookedExecutor(executor, (command) => {
      if (command.id === 'log.read-stream' && !done) {
        done = true;
        // logrotate copytruncate: copy to .1, then truncate the same inode and go on writing to it.
        writeFileSync(`${base}.1`, readFileSync(base));
        truncateSync(base, 0);
        appendFileSync(base, accessLine(DAY0 + 12 * HOUR + 1000, 100_000) + accessLine(DAY0 + 12 * HOUR + 2000, 100_001));
      }
    });
    const from = DAY0 + 11 * HOUR + 45 * MIN;
    const { result, data } = await collect({ executor: hooked, host: hostFor({ accessLog: base }), source: 'accessLog', from, timeOf: accessTime });
    const start = offsetAt(old, from);
    const expected = Buffer.concat([readFileSync(`${base}.1`).subarray(start), readFileSync(base)]);
    expect(data.equals(expected)).toBe(true);
    expect(result.notes.join(' ')).toMatch(/truncated \(copytruncate\) while it was being read/);
    expect(result.files.map((f) => f.path)).toEqual([`${base}.1`, base]);
  });
});

describe('readWindow on other logs and failures', () => {
  it('reads an error.log window with multi-line continuations, starting at a timestamped line', async () => {
    const dir = mkdtempSync(join(work, 'error-'));
    const path = join(dir, 'error.log');
    const parts: string[] = [];
    const entries: Array<{ time: number; offset: number }> = [];
    let offset = 0;
    const stack = `${Array.from({ length: 2000 }, (_, k) => `#${k} /var/www/app/src/Module${k}.php(${k}): handle()`).join('\n')}\n`;
    for (let i = 0; i < 21_600; i++) {
      const time = DAY0 + i * 2000;
      const d = new Date(time);
      let text =
        `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ` +
        `[error] 1234#1234: *${i} FastCGI sent in stderr: "PHP message: PHP Fatal error:  Uncaught Exception: boom ${i}\n` +
        `Stack trace:\n#0 /var/www/app/index.php(12): run()\n#1 {main}\n  thrown in /var/www/app/index.php on line 12" while reading response header from upstream, client: 10.0.0.1, server: shop, request: "GET / HTTP/1.1", upstream: "fastcgi://unix:/run/php/php-fpm.sock:"\n`;
      // Now and then a continuation far longer than a probe block.
      if (i % 500 === 7) text += stack;
      entries.push({ time, offset });
      offset += Buffer.byteLength(text);
      parts.push(text);
    }
    writeFileSync(path, parts.join(''));
    const from = DAY0 + 11 * HOUR + 44 * MIN + 31_000;
    const { result, data } = await collect({ host: hostFor({ errorLog: path }), source: 'errorLog', from, timeOf: errorTime });
    const start = entries.find((e) => e.time >= from)!.offset;
    expect(data.equals(readFileSync(path).subarray(start))).toBe(true);
    expect(errorTime(data.toString('utf8', 0, 100))).toBe(DAY0 + 11 * HOUR + 44 * MIN + 32_000);
    expect(result.bytesFetched).toBeLessThan(3 * data.length + (1 << 20));
    expect(result.startFound).toBe(true);
  });

  it('says which source and path is missing', async () => {
    const path = join(work, 'nope', 'access.log');
    await expect(collect({ host: hostFor({ accessLog: path }), source: 'accessLog', from: DAY0, timeOf: accessTime })).rejects.toThrow(
      new ExecError('web-lab', 'exit', `accessLog ${path} does not exist (check sources.accessLog).`),
    );
  });

  it('reads an empty file as zero bytes, without an error', async () => {
    const dir = mkdtempSync(join(work, 'empty-'));
    const path = join(dir, 'access.log');
    writeFileSync(path, '');
    const { result, data } = await collect({ host: hostFor({ accessLog: path }), source: 'accessLog', from: DAY0, timeOf: accessTime });
    expect(data.length).toBe(0);
    expect(result.files).toEqual([]);
    expect(result.notes.join(' ')).toMatch(/is empty/);
    const whole = await collect({ host: hostFor({ accessLog: path }), source: 'accessLog', timeOf: accessTime });
    expect(whole.data.length).toBe(0);
  });

  it('reads nothing when the whole log is older than the window', async () => {
    const dir = mkdtempSync(join(work, 'stale-'));
    const log = writeAccessLog(join(dir, 'access.log'), DAY0, DAY0 + HOUR, 5000);
    const { result, data } = await collect({ host: hostFor({ accessLog: log.path }), source: 'accessLog', from: DAY0 + 2 * HOUR, timeOf: accessTime });
    expect(data.length).toBe(0);
    expect(result.startFound).toBe(true);
    expect(result.bytesFetched).toBeLessThan(100_000);
  });
});

describe('locateWindowStart (the search alone, on logs in memory)', () => {
  function mulberry(seed: number) {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** A log whose traffic rate jumps between calm and bursts, with continuation lines now and then. */
  function bursty(seed: number) {
    const rnd = mulberry(seed);
    const parts: string[] = [];
    const starts: Array<{ offset: number; time: number }> = [];
    let offset = 0;
    let time = DAY0;
    let gap = 1000;
    for (let i = 0; i < 60_000; i++) {
      if (i % 2000 === 0) gap = rnd() < 0.5 ? 20 + rnd() * 50 : 500 + rnd() * 5000;
      time += gap * rnd() * 2;
      const line = accessLine(time, i) + (rnd() < 0.01 ? 'continuation without a timestamp\n'.repeat(1 + Math.floor(rnd() * 2000)) : '');
      starts.push({ offset, time: Math.floor(time / 1000) * 1000 });
      offset += line.length;
      parts.push(line);
    }
    return { data: Buffer.from(parts.join('')), starts };
  }

  function memoryProbe(data: Buffer, counter: { probes: number; rounds: Set<number> }): Probe {
    return async (offset, limit) => {
      let length = 16 * 1024;
      for (;;) {
        counter.probes++;
        const end = Math.min(offset + length, data.length);
        const lines = timedLines(data.subarray(offset, end), offset, accessTime);
        if (lines.length > 0 || end >= limit || end >= data.length || length >= 1 << 20) return { lines, end };
        length *= 4;
      }
    };
  }

  it('finds the first line at or after the target within the final span, in a few probes', async () => {
    for (const seed of [1, 2, 3]) {
      const { data, starts } = bursty(seed);
      const rnd = mulberry(seed * 7);
      for (let k = 0; k < 15; k++) {
        const target = starts[Math.floor(rnd() * starts.length)]!.time + 500;
        const truth = starts.find((s) => s.time >= target)!;
        const counter = { probes: 0, rounds: new Set<number>() };
        const located = await locateWindowStart(data.length, target, memoryProbe(data, counter), {
          blockSize: 16 * 1024,
          finalSpan: 256 * 1024,
          maxFinalSpan: 4 << 20,
        });
        expect(located.kind).toBe('inside');
        if (located.kind !== 'inside') continue;
        expect(located.from).toBeLessThanOrEqual(truth.offset);
        // from is a line start older than the target.
        const at = starts.find((s) => s.offset === located.from);
        expect(at && at.time < target).toBe(true);
        if (!located.stuck) expect(truth.offset - located.from).toBeLessThanOrEqual(Math.max(256 * 1024, (data.length - truth.offset) / 4) + (1 << 20));
        expect(counter.probes).toBeLessThan(80);
        if (process.env.BADGATEWAY_DEBUG) console.log(seed, counter.probes, located.stuck, truth.offset - located.from, data.length - truth.offset);
      }
    }
  });

  it('tells a file wholly before, wholly after, or without timestamps', async () => {
    const { data, starts } = bursty(9);
    const counter = { probes: 0, rounds: new Set<number>() };
    const options = { blockSize: 16 * 1024, finalSpan: 256 * 1024 };
    const last = starts[starts.length - 1]!.time;
    expect((await locateWindowStart(data.length, last + 1000, memoryProbe(data, counter), options)).kind).toBe('before');
    expect((await locateWindowStart(data.length, DAY0 - 1000, memoryProbe(data, counter), options)).kind).toBe('after');
    const garbage = Buffer.from('no time here\n'.repeat(10_000));
    expect((await locateWindowStart(garbage.length, DAY0, memoryProbe(garbage, counter), options)).kind).toBe('empty');
    expect((await locateWindowStart(0, DAY0, memoryProbe(Buffer.alloc(0), counter), options)).kind).toBe('empty');
  });
});
