import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore } from '../../lambda/store/sqlite';
import { main } from '../../lambda/cli/main';
import { collector, run, tempDir, type Collector } from './run';

const KEY = /tgk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/g;

interface Served {
  readonly stdout: Collector;
  readonly stderr: Collector;
  readonly url: string;
  stop(): Promise<number>;
}

async function serve(env: NodeJS.ProcessEnv, cwd: string, args: string[] = []): Promise<Served> {
  const stdout = collector();
  const stderr = collector();
  const controller = new AbortController();
  const exit = main(['serve', '--port', '0', ...args], { env, stdout, stderr, cwd, stop: controller.signal });
  const deadline = Date.now() + 5_000;
  let url: string | undefined;
  while (!(url = /http:\/\/127\.0\.0\.1:\d+/.exec(stdout.text)?.[0])) {
    const early = await Promise.race([exit, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10))]);
    if (early !== undefined) throw new Error(`serve exited ${early}: ${stderr.text}`);
    if (Date.now() > deadline) throw new Error(`serve never listened: ${stdout.text} ${stderr.text}`);
  }
  return {
    stdout,
    stderr,
    url,
    stop: () => {
      controller.abort();
      return exit;
    },
  };
}

describe('tollgate serve (in-process)', () => {
  let dir: ReturnType<typeof tempDir>;
  let env: NodeJS.ProcessEnv;

  beforeEach(() => {
    dir = tempDir();
    env = { TOLLGATE_DATA_DIR: join(dir.path, 'data') };
  });
  afterEach(() => dir.remove());

  test('the first run creates project "default" and prints its key once, with ways to use it', async () => {
    const first = await serve(env, dir.path);
    const out = first.stdout.text;
    const keys = [...new Set(out.match(KEY))];
    expect(keys).toHaveLength(1);
    const key = keys[0] ?? '';
    expect(out).toContain('cannot be shown again');
    expect(out).toContain(`curl ${first.url}/proxy/openai/chat/completions`);
    expect(out).toContain(`-H "Authorization: Bearer ${key}"`);
    expect(out).toContain(`baseURL: '${first.url}/proxy/openai'`);
    expect(out).toContain(`PYDANTIC_AI_GATEWAY_API_KEY=${key}`);
    expect(out).toContain(`PYDANTIC_AI_GATEWAY_BASE_URL=${first.url}/proxy`);
    expect(first.stderr.text).toContain('warning: no provider credential is set');
    expect(first.stderr.text).toContain('openai (OPENAI_API_KEY)');

    const health = await fetch(`${first.url}/`);
    expect(health.status).toBe(200);
    expect(await first.stop()).toBe(0);

    const listed = await run(['keys', 'list', '--json'], env);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ project: 'default', id: key.slice(4, 16), status: 'active' })]);

    const second = await serve({ ...env, OPENAI_API_KEY: 'sk-test' }, dir.path);
    expect(second.stdout.text).not.toMatch(KEY);
    expect(second.stdout.text).toContain('npx tollgate keys create --project <name>');
    expect(second.stderr.text).not.toContain('warning');
    expect(await second.stop()).toBe(0);
  });

  test('a store that already has projects gets no new key', async () => {
    const store = openSqliteStore({ dataDir: env['TOLLGATE_DATA_DIR'] ?? '' });
    await store.createProject({ name: 'acme', createdAt: new Date().toISOString() });
    await store.close();
    const served = await serve(env, dir.path);
    expect(served.stdout.text).not.toMatch(KEY);
    expect(await served.stop()).toBe(0);
  });

  test('--json prints one JSON line, with the first-run key', async () => {
    const served = await serve(env, dir.path, ['--json']);
    expect(await served.stop()).toBe(0);
    const lines = served.stdout.text.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const ready = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    expect(ready).toEqual({ level: 'info', event: 'listening', url: served.url, firstRun: true, project: 'default', keyId: expect.any(String), key: expect.stringMatching(KEY) });
  });

  test('the warning follows the credential variable the config names', async () => {
    const config = join(dir.path, 'tollgate.config.json');
    writeFileSync(config, JSON.stringify({ providers: { openai: { credential: { env: 'MY_OPENAI' } } } }));
    const served = await serve({ ...env, OPENAI_API_KEY: 'sk-test' }, dir.path);
    expect(await served.stop()).toBe(0);
    expect(served.stderr.text).toContain('openai (MY_OPENAI)');
  });

  test('a bad config exits 1 with its message, no stack, before touching the data dir', async () => {
    const config = join(dir.path, 'bad.json');
    writeFileSync(config, JSON.stringify({ providers: { openai: { baseUrl: 'ftp://nope' } } }));
    const result = await run(['serve', '--port', '0'], { ...env, TOLLGATE_CONFIG: config }, { cwd: dir.path });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`tollgate: ${config}: providers.openai.baseUrl: must be an http(s) URL\n`);
    expect(existsSync(env['TOLLGATE_DATA_DIR'] ?? '')).toBe(false);
  });

  test('a port in use exits 1 and issues no key', async () => {
    const first = await serve(env, dir.path);
    const port = new URL(first.url).port;
    const other = { TOLLGATE_DATA_DIR: join(dir.path, 'other') };
    const result = await run(['serve', '--port', port], other, { cwd: dir.path });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
    expect(result.stdout).not.toMatch(KEY);
    expect(await first.stop()).toBe(0);
    expect(JSON.parse((await run(['keys', 'list', '--json'], other)).stdout)).toEqual([]);
  });

  test('a bad port is a usage error', async () => {
    for (const port of ['http', '-1', '70000', '']) {
      const result = await run(['serve', '--port', port], env, { cwd: dir.path });
      expect({ port, code: result.code }).toEqual({ port, code: 2 });
    }
    expect((await run(['serve'], { ...env, PORT: 'abc' }, { cwd: dir.path })).code).toBe(1);
  });
});

describe('tollgate (dispatch)', () => {
  test('--help for the CLI and every command', async () => {
    for (const args of [['--help'], ['-h'], ['help'], ['help', 'spend'], ['help', 'projects'], ['help', 'users'], ['serve', '--help'], ['spend', '--help'], ['keys', 'help']]) {
      const result = await run(args, {});
      expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 0, stderr: '' });
      expect(result.stdout).toMatch(/^Usage: tollgate/);
    }
  });

  test('unknown commands and flags exit 2 with a message on stderr', async () => {
    for (const args of [['frobnicate'], ['--frobnicate'], ['serve', '--frobnicate'], ['help', 'frobnicate'], ['help', 'constructor'], ['serve', 'extra']]) {
      const result = await run(args, {});
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(result.stderr).toMatch(/^tollgate: .+\nRun "tollgate( serve)? --help" for usage\.\n$/);
    }
  });

  test('an unusable store setting exits 1 with its message', async () => {
    const result = await run(['keys', 'list'], { TOLLGATE_STORE: 'postgres' });
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'tollgate: TOLLGATE_STORE must be "sqlite" or "dynamodb", not "postgres"\n' });
  });
});
