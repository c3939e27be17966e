/**
 * A local stand-in for Slack in tests: a node:http server that
 *  - answers the Web API (`POST /api/<method>`) with `{ ok: true, ... }` and records every call,
 *  - checks Block Kit limits the way Slack does (so an over-long message fails here as it would there),
 *  - can answer 429 with Retry-After for the next N calls of a method,
 *  - takes response_url posts (`/respond/<id>`) and file bytes (`/upload/<id>`),
 * plus helpers to sign requests to the bot exactly as Slack does.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { parse } from 'node:querystring';

export interface RecordedCall {
  /** Web API method (`chat.postMessage`), or `respond` / `upload` for those endpoints. */
  method: string;
  path: string;
  body: Record<string, unknown>;
  raw: string;
  status: number;
  /** Slack answered ok (HTTP 200 and `ok: true`). */
  ok: boolean;
  at: number;
  /** What the stub answered (e.g. the `ts` of a posted message). */
  response: unknown;
}

export interface SlackStub {
  url: string;
  apiUrl: string;
  calls: RecordedCall[];
  /** Successful calls of one method. */
  ok(method: string): RecordedCall[];
  /** The next `times` calls of `method` get 429 with `Retry-After: seconds`. */
  rateLimit(method: string, times: number, seconds: number): void;
  responseUrl(id: string): string;
  waitFor<T>(find: () => T | undefined | null | false, timeoutMs?: number, what?: string): Promise<T>;
  reset(): void;
  close(): Promise<void>;
}

const LIMITS = { blocks: 50, section: 3000, field: 2000, header: 150, buttonText: 75, buttonValue: 2000, actionId: 255, context: 3000 };

/** What Slack would refuse in a message's blocks; null when it is fine. */
/** Every string in a recorded call's body (texts of blocks included), one per line. */
export function allText(call: { body: unknown }): string {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(call.body);
  return out.join('\n');
}

export function blockProblem(blocks: unknown): string | null {
  if (blocks === undefined) return null;
  if (!Array.isArray(blocks)) return 'blocks is not an array';
  if (blocks.length > LIMITS.blocks) return `${blocks.length} blocks > ${LIMITS.blocks}`;
  let total = 0;
  for (const block of blocks as Array<Record<string, any>>) {
    total += JSON.stringify(block).length;
    if (block.type === 'section') {
      if (block.text && (typeof block.text.text !== 'string' || block.text.text.length === 0 || block.text.text.length > LIMITS.section)) {
        return `section text length ${block.text?.text?.length}`;
      }
      for (const f of block.fields ?? []) if (f.text.length > LIMITS.field) return `field text length ${f.text.length}`;
      if (!block.text && !block.fields) return 'section without text or fields';
    } else if (block.type === 'header') {
      if (block.text.text.length > LIMITS.header || block.text.type !== 'plain_text') return `header text length ${block.text.text.length}`;
    } else if (block.type === 'context') {
      for (const e of block.elements) if (e.text.length > LIMITS.context) return `context text length ${e.text.length}`;
    } else if (block.type === 'actions') {
      const ids = new Set<string>();
      for (const e of block.elements) {
        if (e.text.text.length > LIMITS.buttonText) return `button text length ${e.text.text.length}`;
        if ((e.value ?? '').length > LIMITS.buttonValue) return `button value length ${e.value.length}`;
        if (e.action_id.length > LIMITS.actionId) return `action_id length ${e.action_id.length}`;
        if (ids.has(e.action_id)) return `duplicate action_id ${e.action_id}`;
        ids.add(e.action_id);
      }
    } else if (block.type !== 'divider') {
      return `unknown block type ${block.type}`;
    }
  }
  if (total > 12_000) return `blocks total ${total} characters`;
  return null;
}

export async function startSlackStub(): Promise<SlackStub> {
  const calls: RecordedCall[] = [];
  const limited = new Map<string, { times: number; seconds: number }>();
  let ts = 1_700_000_000;
  let server: Server;
  let url = '';

  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '/';
      const type = req.headers['content-type'] ?? '';
      let body: Record<string, unknown> = {};
      try {
        if (type.startsWith('application/json')) body = JSON.parse(raw) as Record<string, unknown>;
        else if (type.startsWith('application/x-www-form-urlencoded')) {
          body = { ...parse(raw) };
          for (const key of ['blocks', 'attachments', 'files']) {
            if (typeof body[key] === 'string') body[key] = JSON.parse(body[key] as string);
          }
        }
      } catch {
        body = {};
      }
      const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        const ok = status === 200 && (typeof payload === 'string' || (payload as { ok?: boolean }).ok === true);
        calls.push({ method, path, body, raw, status, ok, at: Date.now(), response: payload });
        res.writeHead(status, { 'content-type': typeof payload === 'string' ? 'text/plain' : 'application/json', ...headers });
        res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
      };
      let method = 'unknown';
      if (path.startsWith('/respond/')) {
        method = 'respond';
        const problem = blockProblem(body.blocks);
        return problem ? send(400, 'invalid_blocks') : send(200, 'ok');
      }
      if (path.startsWith('/upload/')) {
        method = 'upload';
        return send(200, 'OK');
      }
      const match = /^\/api\/([A-Za-z.]+)/.exec(path);
      if (!match) return send(404, 'not found');
      method = match[1]!;
      const limit = limited.get(method);
      if (limit && limit.times > 0) {
        limit.times--;
        return send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(limit.seconds) });
      }
      const problem = blockProblem(body.blocks);
      if (problem) return send(200, { ok: false, error: 'invalid_blocks', detail: problem });
      if (typeof body.text === 'string' && body.text.length > 40_000) return send(200, { ok: false, error: 'msg_too_long' });
      switch (method) {
        case 'auth.test':
          // A token Slack no longer accepts (revoked, or copied wrong): `badgateway doctor` must say so.
          if (/xoxb-revoked/.test(String(req.headers.authorization ?? body.token ?? ''))) return send(200, { ok: false, error: 'invalid_auth' });
          return send(200, { ok: true, url: 'https://stub.slack.test/', team: 'Stub', user: 'badgateway', team_id: 'T0STUB', user_id: 'U0BOT', bot_id: 'B0BOT' });
        case 'chat.postMessage':
          if (!body.channel) return send(200, { ok: false, error: 'channel_not_found' });
          if (body.channel === 'C0NOTMEMBER') return send(200, { ok: false, error: 'not_in_channel' });
          return send(200, { ok: true, channel: body.channel, ts: `${ts++}.000100`, message: { text: body.text } });
        case 'chat.update':
          return send(200, { ok: true, channel: body.channel, ts: body.ts, text: body.text });
        case 'chat.postEphemeral':
          return send(200, { ok: true, message_ts: `${ts++}.000200` });
        case 'files.getUploadURLExternal': {
          const id = `F0${ts++}`;
          return send(200, { ok: true, upload_url: `${url}/upload/${id}`, file_id: id });
        }
        case 'files.completeUploadExternal':
          return send(200, { ok: true, files: [{ id: 'F0FILE', title: 'evidence' }] });
        default:
          return send(200, { ok: true });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  return {
    url,
    apiUrl: `${url}/api/`,
    calls,
    ok: (method) => calls.filter((c) => c.method === method && c.ok),
    rateLimit(method, times, seconds) {
      limited.set(method, { times, seconds });
    },
    responseUrl: (id) => `${url}/respond/${id}`,
    async waitFor(find, timeoutMs = 30_000, what = 'condition') {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = find();
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; calls: ${calls.map((c) => `${c.method}:${c.status}`).join(' ')}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    reset() {
      calls.length = 0;
      limited.clear();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// ---------------------------------------------------------------------------------------------
// Requests to the bot, signed as Slack signs them.

export function sign(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': signature,
  };
}

export interface BotResponse {
  status: number;
  body: string;
  json: any;
  ms: number;
}

export async function post(url: string, body: string, headers: Record<string, string>): Promise<BotResponse> {
  const started = performance.now();
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, body: text, json, ms: performance.now() - started };
}

export function slashBody(fields: Record<string, string>): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: 'T0STUB',
    team_domain: 'stub',
    channel_name: 'oncall',
    user_name: 'responder',
    command: '/502',
    api_app_id: 'A0STUB',
    trigger_id: '1.2.3',
    ...fields,
  }).toString();
}

export function actionBody(payload: Record<string, unknown>): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** A block_actions payload for a click on one button of a message the bot posted. */
export function clickPayload(options: { user: string; channel: string; messageTs: string; actionId: string; value: string; responseUrl: string }) {
  return {
    type: 'block_actions',
    team: { id: 'T0STUB', domain: 'stub' },
    user: { id: options.user, username: 'responder', team_id: 'T0STUB' },
    api_app_id: 'A0STUB',
    token: 'deprecated-verification-token',
    container: { type: 'message', message_ts: options.messageTs, channel_id: options.channel, is_ephemeral: false },
    trigger_id: '1.2.3',
    channel: { id: options.channel, name: 'oncall' },
    message: { type: 'message', ts: options.messageTs, text: 'triage', user: 'U0BOT' },
    response_url: options.responseUrl,
    actions: [
      {
        type: 'button',
        action_id: options.actionId,
        block_id: 'b1',
        text: { type: 'plain_text', text: 'x' },
        value: options.value,
        action_ts: String(Date.now() / 1000),
      },
    ],
  };
}
