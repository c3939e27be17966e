/**
 * Local evidence files for `badgateway analyze`: streamed in chunks (gzip detected by its magic
 * bytes, not the name), so memory stays flat whatever the file size.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';

export type FileProblem = { status: 'missing' | 'unreadable' | 'empty'; detail: string };

const CHUNK = 1 << 20;
const GZIP_MAGIC = [0x1f, 0x8b];

/** Checks a file before reading it; a problem becomes a line in the report, not a crash. */
export async function checkFile(path: string): Promise<FileProblem | null> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return { status: 'unreadable', detail: `${path} is not a regular file` };
    if (info.size === 0) return { status: 'empty', detail: `${path} is empty` };
    const handle = await open(path, 'r');
    await handle.close();
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { status: 'missing', detail: `${path} does not exist` };
    return { status: 'unreadable', detail: `${path} cannot be read (${code ?? String(err)})` };
  }
}

export async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === GZIP_MAGIC[0] && buffer[1] === GZIP_MAGIC[1];
  } finally {
    await handle.close();
  }
}

/** Streams the (decompressed) bytes of a file to `onChunk`; returns the bytes read from disk. */
export async function streamFile(path: string, onChunk: (chunk: Buffer) => void): Promise<number> {
  const gzip = await isGzip(path);
  const source = createReadStream(path, { highWaterMark: CHUNK });
  let diskBytes = 0;
  source.on('data', (chunk) => {
    diskBytes += (chunk as Buffer).length;
  });
  const stream = gzip ? source.pipe(createGunzip()) : source;
  source.on('error', (err) => stream.destroy(err));
  for await (const chunk of stream) onChunk(chunk as Buffer);
  return diskBytes;
}

/** The last `bytes` of a file as text lines (whole file for gzip), to find its newest entry cheaply. */
export async function tailLines(path: string, bytes = 256 * 1024): Promise<string[]> {
  if (await isGzip(path)) {
    const chunks: Buffer[] = [];
    await streamFile(path, (c) => chunks.push(c));
    return splitTail(Buffer.concat(chunks), bytes, true);
  }
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - bytes);
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    return splitTail(buffer, bytes, start === 0);
  } finally {
    await handle.close();
  }
}

function splitTail(buffer: Buffer, bytes: number, fromStart: boolean): string[] {
  const slice = buffer.length > bytes ? buffer.subarray(buffer.length - bytes) : buffer;
  const lines = slice.toString('utf8').split('\n');
  // The first line of a tail window is usually cut mid-way.
  if (!fromStart || buffer.length > bytes) lines.shift();
  return lines.filter((l) => l.length > 0);
}

/** Splits chunks into text lines, carrying a partial line across chunks. */
export class LineSplitter {
  private partial: Buffer = Buffer.alloc(0);

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer): void {
    let data = this.partial.length ? Buffer.concat([this.partial, chunk]) : chunk;
    let start = 0;
    for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
      const end = nl > start && data[nl - 1] === 13 ? nl - 1 : nl;
      this.onLine(data.toString('utf8', start, end));
      start = nl + 1;
    }
    data = data.subarray(start);
    this.partial = Buffer.from(data);
  }

  end(): void {
    if (this.partial.length) this.onLine(this.partial.toString('utf8'));
    this.partial = Buffer.alloc(0);
  }
}
