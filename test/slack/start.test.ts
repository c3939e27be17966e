/**
 * `badgateway start` picks its mode from the environment and logs the choice as one JSON line; in
 * HTTP mode the real process answers signed slash commands, talking to a Slack Web API stub.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { chooseMode } from '../../src/slack/mode.js';
import { REPO_ROOT, testCatalogDir, writeConfig } from '../support/config.js';
import { freePort } from '../support/sshd.js';
import { post, sign, slashBody, startSlackStub, type SlackStub } from './stub.js';

const BIN = join(REPO_ROOT, 'bin', 'badgateway.js');
let stub: SlackStub;
let configFile: string;

beforeAll(async () => {
  stub = await startSlackStub();
  configFile = writeConfig({ catalog: testCatalogDir(), hosts: { 'web-03': { address: '127.0.0.1', port: 9 } } });
});
afterAll(async () => {
  await stub?.close();
});

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, BADGATEWAY_CONFIG: configFile, LOG_LEVEL: '', ...extra };
  for (const key of ['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_API_URL', 'PORT']) if (!(key in extra)) delete env[key];
  return env;
}

describe('badgateway start: mode from the environment', () => {
  it('chooses Socket Mode, HTTP or the console, and refuses a half-configured Slack', () => {
    expect(chooseMode({})).toEqual({ mode: 'console' });
    expect(chooseMode({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' })).toMatchObject({ mode: 'socket', botToken: 'xoxb-1', appToken: 'xapp-1' });
    expect(chooseMode({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' })).toMatchObject({ mode: 'http', port: 3000, path: '/slack/events' });
    expect(chooseMode({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', PORT: '8080', SLACK_API_URL: 'http://127.0.0.1:9/api' })).toMatchObject({
      mode: 'http',
      port: 8080,
      apiUrl: 'http://127.0.0.1:9/api/',
    });
    expect(() => chooseMode({ SLACK_BOT_TOKEN: 'xoxb-1' })).toThrow(/neither SLACK_APP_TOKEN \(Socket Mode\) nor SLACK_SIGNING_SECRET/);
    expect(() => chooseMode({ SLACK_SIGNING_SECRET: 's' })).toThrow(/SLACK_BOT_TOKEN is not/);
    expect(() => chooseMode({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', PORT: 'http' })).toThrow(/PORT "http" is not a port number/);
  });

  it('a half-configured Slack exits 2 with one line, before anything starts', () => {
    const result = spawnSync(process.execPath, [BIN, 'start'], { cwd: REPO_ROOT, env: cleanEnv({ SLACK_BOT_TOKEN: 'xoxb-only' }), encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^badgateway: SLACK_BOT_TOKEN is set but neither/);
  });

  it('HTTP mode: logs its choice, answers a signed /502 help, stops on SIGTERM', async () => {
    const port = await freePort();
    const secret = 'start-test-secret';
    const child = spawn(process.execPath, [BIN, 'start'], {
      cwd: REPO_ROOT,
      env: cleanEnv({ SLACK_BOT_TOKEN: 'xoxb-start', SLACK_SIGNING_SECRET: secret, SLACK_API_URL: stub.apiUrl, PORT: String(port) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const deadline = Date.now() + 60_000;
      while (!stderr.includes('slack app running')) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const lines = stderr
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines[0]).toMatchObject({ level: 30, mode: 'http', port, path: '/slack/events', apiUrl: stub.apiUrl, msg: 'starting the Slack app in HTTP mode' });
      expect(stub.ok('auth.test')).toHaveLength(1);
      expect(stderr).not.toContain('xoxb-start');
      expect(stderr).not.toContain(secret);

      const body = slashBody({ text: 'help', user_id: 'U0ANYONE', channel_id: 'C0ANY', response_url: stub.responseUrl('h') });
      const res = await post(`http://127.0.0.1:${port}/slack/events`, body, sign(secret, body));
      expect(res.status).toBe(200);
      expect(res.json.response_type).toBe('ephemeral');
      expect(JSON.stringify(res.json.blocks)).toContain('/502 triage TARGET');
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));
    expect(code).toBe(0);
  }, 120_000);
});

describe('badgateway start: a store that cannot be opened', () => {
  // The store opens while the bot starts serving; when it cannot, the bot stops with its error, as before.
  it.each(['http', 'console'] as const)(
    '%s mode: exits 1 with the store error on a line of its own',
    async (mode) => {
      const port = await freePort();
      const slack: Record<string, string> =
        mode === 'http' ? { SLACK_BOT_TOKEN: 'xoxb-start', SLACK_SIGNING_SECRET: 'store-test', SLACK_API_URL: stub.apiUrl, PORT: String(port) } : { METRICS_PORT: String(port) };
      const child = spawn(process.execPath, [BIN, 'start'], {
        cwd: REPO_ROOT,
        env: cleanEnv({ ...slack, DATABASE_URL: 'postgres://postgres@127.0.0.1:9/test' }),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(1);
      expect(stderr.split('\n').filter((l) => l.startsWith('badgateway: '))).toEqual([
        expect.stringMatching(/^badgateway: cannot open the PostgreSQL store at postgres:\/\/postgres@127\.0\.0\.1:9\/test: /),
      ]);
    },
    120_000,
  );
});

describe('manifest.yml', () => {
  it('declares /502, the scopes, interactivity and Socket Mode', () => {
    const manifest = parse(readFileSync(join(REPO_ROOT, 'manifest.yml'), 'utf8'));
    expect(manifest.features.slash_commands).toEqual([expect.objectContaining({ command: '/502', should_escape: false })]);
    expect(manifest.oauth_config.scopes.bot).toEqual(['commands', 'chat:write', 'files:write', 'usergroups:read']);
    expect(manifest.settings).toMatchObject({ interactivity: { is_enabled: true }, socket_mode_enabled: true });
    expect(manifest.display_information.description.length).toBeLessThanOrEqual(140);
    expect(manifest.display_information.long_description.length).toBeGreaterThanOrEqual(175);
  });
});
