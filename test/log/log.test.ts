import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/index.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

describe('logger', () => {
  it('writes one JSON event per line and redacts secrets at any depth', () => {
    const { lines, logger } = capture();
    logger.info(
      {
        host: 'web-03',
        token: 'xoxb-123-secret',
        ssh: { privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----abc', passphrase: 'hunter2' },
        slack: { app: { signingSecret: 'shh' } },
        req: { headers: { authorization: 'Bearer abc', cookie: 'sid=1' } },
      },
      'connecting',
    );
    expect(lines).toHaveLength(1);
    const event = JSON.parse(lines[0]!);
    expect(event.msg).toBe('connecting');
    expect(event.host).toBe('web-03');
    for (const secret of ['xoxb-123-secret', 'BEGIN OPENSSH', 'hunter2', 'shh', 'Bearer abc', 'sid=1']) {
      expect(lines[0]).not.toContain(secret);
    }
    expect(event.ssh.privateKey).toBe('[redacted]');
  });
});
