import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startFakeOpenAI, UPSTREAM_KEY } from '../support/fake-openai';
import type { SpendRow } from '../../lambda/cli/spend';
import { tempDir } from './run';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'tollgate.js');
const KEY = /tgk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/;

/** The child's env: this process's, minus anything that would point it at a real store or upstream. */
function childEnv(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TOLLGATE_DATA_DIR: dataDir };
  for (const name of ['TOLLGATE_STORE', 'TOLLGATE_CONFIG', 'TOLLGATE_HOST', 'PORT', 'OPENAI_API_KEY']) delete env[name];
  return env;
}

describe('the built CLI, as a child process', () => {
  let dir: ReturnType<typeof tempDir>;

  // Always rebuilt: it takes a fraction of a second, and a stale dist/ would test old code.
  beforeAll(() => {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: 'pipe' });
  });
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.remove());

  test('keys create --json prints only JSON, with the key', () => {
    const stdout = execFileSync(process.execPath, [BIN, 'keys', 'create', '--project', 'p', '--json'], {
      cwd: dir.path,
      env: childEnv(join(dir.path, 'data')),
      encoding: 'utf8',
    });
    const created = JSON.parse(stdout) as { key: string; id: string; project: string };
    expect(created).toMatchObject({ key: expect.stringMatching(KEY), project: 'p' });
    expect(created.key.slice(4, 16)).toBe(created.id);
  });

  test('serve prints the base URL and first-run key, answers GET /, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { cwd: dir.path, env: childEnv(join(dir.path, 'data')) });
    try {
      const stdout = await readUntil(child, (text) => KEY.test(text) && /Spend:/.test(text));
      const url = /http:\/\/127\.0\.0\.1:\d+/.exec(stdout)?.[0];
      expect(url).toBeDefined();
      expect(KEY.exec(stdout)?.[0]).toBeDefined();

      const response = await fetch(`${url}/`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'ok', service: 'tollgate' });
    } finally {
      const exited =
        child.exitCode !== null || child.signalCode !== null
          ? Promise.resolve(child.exitCode)
          : new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  // The bundle starts the SQLite store's spend writer thread from dist/: this is the path `npm start` takes.
  test('serve meters a call through its spend writer thread, and keeps the spend after SIGTERM', async () => {
    const upstream = await startFakeOpenAI();
    const dataDir = join(dir.path, 'data');
    const config = join(dir.path, 'tollgate.config.json');
    writeFileSync(config, JSON.stringify({ providers: { openai: { baseUrl: upstream.baseUrl } } }));
    const env = { ...childEnv(dataDir), TOLLGATE_CONFIG: config, OPENAI_API_KEY: UPSTREAM_KEY };
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { cwd: dir.path, env });
    try {
      const stdout = await readUntil(child, (text) => KEY.test(text) && /Spend:/.test(text));
      const url = /http:\/\/127\.0\.0\.1:\d+/.exec(stdout)?.[0] ?? '';
      const client = new OpenAI({ apiKey: KEY.exec(stdout)?.[0], baseURL: `${url}/proxy/openai` });

      const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

      expect(completion.choices[0]?.message.content).toBeTruthy();
      expect(upstream.requests).toHaveLength(1);
    } finally {
      const exited = child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await upstream.close();
    }
    // Read back by another process, after the server is gone: the settlement was committed, nothing is left held.
    const spend = JSON.parse(execFileSync(process.execPath, [BIN, 'spend', '--json'], { cwd: dir.path, env, encoding: 'utf8' })) as SpendRow[];
    const lifetime = spend.filter((row) => row.period === 'lifetime');
    expect(lifetime.map((row) => row.scope.kind).sort()).toEqual(['key', 'project']);
    for (const row of lifetime) expect(row).toMatchObject({ requests: 1, reservedNanos: 0, nanos: expect.any(Number) });
    expect(lifetime[0]?.nanos).toBeGreaterThan(0);
  });
});

function readUntil(child: ChildProcessWithoutNullStreams, done: (stdout: string) => boolean, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => fail(new Error(`timed out; stdout: ${stdout}; stderr: ${stderr}`)), timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout.off('data', onOut);
      child.stderr.off('data', onErr);
      child.off('exit', onExit);
    };
    const fail = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onOut = (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (done(stdout)) {
        cleanup();
        resolve(stdout);
      }
    };
    const onErr = (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    };
    const onExit = (code: number | null) => fail(new Error(`exited early with ${code}; stderr: ${stderr}`));
    child.stdout.on('data', onOut);
    child.stderr.on('data', onErr);
    child.once('exit', onExit);
  });
}
