/**
 * Output of one command, capped: stdout up to the command's maxOutputBytes (streamed to the caller
 * or buffered), stderr up to STDERR_CAP_BYTES. Shared by the SSH and local executors.
 */
import { STDERR_CAP_BYTES } from './types.js';

export class CappedOutput {
  stdoutBytes = 0;
  truncated = false;
  private readonly stdoutChunks: Buffer[] = [];
  private readonly stderrChunks: Buffer[] = [];
  private stderrBytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly onStdout: ((chunk: Buffer) => void) | undefined,
    /** Called once when stdout reaches the cap: the command should be stopped. */
    private readonly onCap: () => void,
  ) {}

  stdout(chunk: Buffer): void {
    if (this.truncated) return;
    const room = this.maxBytes - this.stdoutBytes;
    const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.stdoutBytes += piece.length;
    if (piece.length > 0) {
      if (this.onStdout) this.onStdout(piece);
      else this.stdoutChunks.push(piece);
    }
    if (chunk.length > room) {
      this.truncated = true;
      this.onCap();
    }
  }

  stderr(chunk: Buffer): void {
    if (this.stderrBytes >= STDERR_CAP_BYTES) return;
    this.stderrChunks.push(chunk.subarray(0, STDERR_CAP_BYTES - this.stderrBytes));
    this.stderrBytes += chunk.length;
  }

  /** Buffered stdout (empty when it was streamed). */
  stdoutBuffer(): Buffer {
    return Buffer.concat(this.stdoutChunks);
  }

  stderrText(): string {
    return Buffer.concat(this.stderrChunks).toString('utf8');
  }
}
