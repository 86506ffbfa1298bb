/**
 * What tracing costs the gateway's event loop, in process, without the noise of three processes
 * on two cores: `createGateway` with a canned upstream (a recorded OpenAI chat document, or its
 * SSE stream) and a store that answers at once, 50 requests in flight, alternating arms, the
 * lowest round of each reported. CPU is the process's user + system time per request.
 *
 *   npx tsx scripts/bench/tracing-ab.ts [rounds=5] [requests=10000]
 *   AB_ROOT=/path/to/other/checkout npx tsx scripts/bench/tracing-ab.ts   # the same, on other code
 *   AB_ARMS=on node --import tsx --cpu-prof scripts/bench/tracing-ab.ts   # one arm, to profile
 *   AB_BUNDLE=1 npx tsx scripts/bench/tracing-ab.ts   # the checkout's code bundled by esbuild, as shipped
 *   AB_SHAPES=stream …                                 # one shape (document, stream), to profile
 *
 * By default the checkout's code runs through tsx, which compiles with esbuild's `keepNames`: every
 * function expression then calls `__name` (an `Object.defineProperty`) each time it is created,
 * which the shipped bundles (`scripts/build.mjs`, the CDK's) do not do. Closures made per request
 * cost several times more under tsx than in production; `AB_BUNDLE=1` measures what ships (the
 * store used to issue the bench's key still runs through tsx: it is not timed).
 *
 * Arms: `off` (no tracer given: the no-op), and, where the checkout has tracing, `on` (every span
 * built, batched and encoded to OTLP protobuf, the send replaced by a no-op so no socket is timed).
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(process.env['AB_ROOT'] ?? resolve(__dirname, '../..'));
const rounds = Number(process.argv[2] ?? 5);
const requests = Number(process.argv[3] ?? 10_000);
const CONCURRENCY = 50;

type Body = AsyncIterable<Uint8Array>;
interface Response {
  status: number;
  headers: Record<string, unknown>;
  body: Body;
}
interface Gateway {
  handle(request: { method: string; url: string; headers: Record<string, string>; body: Body }): Promise<Response>;
}

/** The timed modules as one esbuild bundle without `keepNames`; packages stay external, required from the checkout. */
async function bundled(modules: readonly string[]): Promise<(module: string) => Promise<Record<string, unknown>>> {
  const dir = mkdtempSync(join(tmpdir(), 'tracing-ab-'));
  const entry = join(dir, 'entry.ts');
  writeFileSync(entry, modules.map((module, index) => `export * as m${index} from ${JSON.stringify(`${root}/${module}`)};`).join('\n'));
  const outfile = join(dir, 'bundle.cjs');
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
    plugins: [
      {
        name: 'packages-from-checkout',
        setup(plugin) {
          plugin.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith('node:') ? { external: true } : { path: require.resolve(args.path, { paths: [args.resolveDir] }), external: true },
          );
        },
      },
    ],
  });
  const loaded = (await import(outfile)) as Record<string, Record<string, unknown>>;
  const exports = (loaded['default'] ?? loaded) as Record<string, Record<string, unknown>>;
  return async (module) => exports[`m${modules.indexOf(module)}`] as Record<string, unknown>;
}

async function main(): Promise<void> {
  const tracingModule = `${root}/lambda/observability/otel/tracing.ts`;
  const hasTracing = existsSync(tracingModule);
  const timed = ['lambda/core/gateway.ts', 'lambda/config/config.ts', 'lambda/config/credentials.ts', 'lambda/pricing/pricer.ts', 'lambda/core/log.ts'];
  if (hasTracing) timed.push('lambda/observability/otel/tracing.ts', 'lambda/observability/otel/otlp-proto.ts');
  const load = process.env['AB_BUNDLE'] === '1' ? await bundled(timed) : async (module: string) => (await import(`${root}/${module}`)) as Record<string, unknown>;
  const use = async (module: string): Promise<any> => load(module);
  const { createGateway } = (await use('lambda/core/gateway.ts')) as { createGateway: (deps: Record<string, unknown>) => Gateway };
  const { parseConfig } = await use('lambda/config/config.ts');
  const { envCredentials } = await use('lambda/config/credentials.ts');
  const { Pricer } = await use('lambda/pricing/pricer.ts');
  const { openSqliteStore } = await import(`${root}/lambda/store/sqlite.ts`);
  const { issueKey } = await import(`${root}/lambda/keys/issue-key.ts`);
  const { silentLogger } = await use('lambda/core/log.ts');

  const document = readFileSync(`${root}/test/fixtures/openai/chat.json`);
  const events = readFileSync(`${root}/test/fixtures/openai/chat-stream.sse`)
    .toString('utf8')
    .split('\n\n')
    .filter((event) => event.length > 0)
    .map((event) => Buffer.from(`${event}\n\n`));
  const upstream = {
    async request(options: { body?: Buffer }) {
      // An upstream answers in a later turn of the event loop, as a socket would: timers and
      // immediates (the span queue's batches among them) run between requests, as in a server.
      await new Promise((resolve) => setImmediate(resolve));
      const streamed = options.body !== undefined && options.body.includes('"stream":true');
      const headers = streamed ? { 'content-type': 'text/event-stream' } : { 'content-type': 'application/json', 'content-length': String(document.length) };
      const chunks = streamed ? events : [document];
      return {
        statusCode: 200,
        headers,
        body: {
          bytes: async () => new Uint8Array(document),
          async *[Symbol.asyncIterator]() {
            yield* chunks;
          },
        },
      };
    },
  };

  const issuer = openSqliteStore({ dataDir: ':memory:' });
  const issued = await issueKey(issuer, { project: 'bench', user: 'bench-user' });
  const policy = { key: issued.record, project: undefined, user: undefined };
  const store = { reserve: async () => ({ ok: true, standing: [] }), settle: async () => true };
  const config = parseConfig({ providers: { openai: { baseUrl: 'http://127.0.0.1:9/v1' } } }, 'ab');

  let tracing: { tracer: unknown; stats(): Record<string, unknown> } | undefined;
  async function gatewayFor(arm: string): Promise<Gateway> {
    let tracer: unknown;
    if (arm === 'on') {
      const { createTracing } = await use('lambda/observability/otel/tracing.ts');
      const { encodeProto } = await use('lambda/observability/otel/otlp-proto.ts');
      const settings = parseConfig({ tracing: { export: { endpoint: 'http://127.0.0.1:9' } } }, 'ab').tracing;
      const created = createTracing(settings, {
        env: {},
        logger: silentLogger,
        send: (_destination: unknown, source: unknown) => async (spans: unknown[]) => {
          encodeProto(source, spans);
          return { kind: 'ok' };
        },
      });
      tracing = created;
      tracer = created.tracer;
    }
    return createGateway({
      config,
      store,
      pricer: new Pricer(config.prices),
      upstream,
      credential: envCredentials({ OPENAI_API_KEY: 'sk-ab' }),
      logger: silentLogger,
      policies: { load: async () => policy },
      ...(tracer !== undefined && { tracer }),
    });
  }

  const bodies = {
    document: Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 100 })),
    stream: Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }], stream: true, stream_options: { include_usage: true } })),
  };
  async function run(gateway: Gateway, body: Buffer): Promise<{ cpuUs: number; wallUs: number }> {
    let next = 0;
    const one = async (): Promise<void> => {
      while (next++ < requests) {
        const response = await gateway.handle({
          method: 'POST',
          url: '/proxy/openai/chat/completions',
          headers: { authorization: `Bearer ${issued.key}`, 'content-type': 'application/json', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
          body: (async function* () {
            yield body;
          })(),
        });
        if (response.status !== 200) throw new Error(`status ${response.status}`);
        for await (const chunk of response.body) void chunk;
      }
    };
    const cpu = process.cpuUsage();
    const started = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, one));
    // Let the queue's batches go (they run on timers after the requests).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const used = process.cpuUsage(cpu);
    return { cpuUs: (used.user + used.system) / requests, wallUs: ((performance.now() - started - 1100) * 1000) / requests };
  }

  const arms = (process.env['AB_ARMS']?.split(',') ?? ['off', 'on']).filter((arm) => arm === 'off' || hasTracing);
  const gateways = Object.fromEntries(await Promise.all(arms.map(async (arm) => [arm, await gatewayFor(arm)] as const)));
  const results: Record<string, { cpuUs: number[]; wallUs: number[] }> = {};
  const shapes = (process.env['AB_SHAPES']?.split(',') ?? ['document', 'stream']).filter((shape): shape is keyof typeof bodies => shape in bodies);
  for (const shape of shapes) {
    // Warm-up: JIT, pools.
    for (const arm of arms) await run(gateways[arm]!, bodies[shape]);
    for (let round = 0; round < rounds; round++) {
      for (const arm of round % 2 === 0 ? arms : [...arms].reverse()) {
        const { cpuUs, wallUs } = await run(gateways[arm]!, bodies[shape]);
        const entry = (results[`${shape} ${arm}`] ??= { cpuUs: [], wallUs: [] });
        entry.cpuUs.push(cpuUs);
        entry.wallUs.push(wallUs);
      }
    }
  }
  process.stdout.write(`root ${root}${process.env['AB_BUNDLE'] === '1' ? ' (bundled)' : ''}, ${rounds} rounds × ${requests} requests, ${CONCURRENCY} in flight\n`);
  process.stdout.write('| shape | tracing | CPU µs/request, lowest round (all rounds) | wall µs/request, lowest |\n| --- | --- | --- | --- |\n');
  for (const [name, { cpuUs, wallUs }] of Object.entries(results)) {
    const [shape, arm] = name.split(' ');
    process.stdout.write(`| ${shape} | ${arm} | ${Math.min(...cpuUs).toFixed(1)} (${cpuUs.map((v) => v.toFixed(1)).join(', ')}) | ${Math.min(...wallUs).toFixed(1)} |\n`);
  }
  // Every span built was encoded: none dropped on a full queue, which would flatter the `on` arm.
  if (tracing) process.stdout.write(`export: ${JSON.stringify(tracing.stats())}\n`);
  await issuer.close();
}

void main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
