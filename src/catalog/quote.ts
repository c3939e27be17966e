/**
 * The one function that turns an argv into text for a remote POSIX shell. ssh only carries a
 * command string, so every argument is quoted here and nowhere else.
 */

const SAFE_RE = /^[A-Za-z0-9_/.,:=+@%^-]+$/;

/** Quotes one argument so that sh, bash and dash read it back byte for byte. */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new Error('an argument cannot contain a NUL byte');
  if (arg !== '' && SAFE_RE.test(arg)) return arg;
  // Inside single quotes nothing is special except the quote itself, which is closed, escaped and reopened.
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
