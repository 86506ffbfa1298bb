/**
 * Cold start, CPU and memory of the Lambda proxy, measured in fresh Node processes on this machine
 * (no AWS account, no Docker): the handler bundled as `lib/lambda-defaults.ts` bundles it, loaded
 * with `--enable-source-maps` (as the stack's NODE_OPTIONS does) in the environment Lambda gives a
 * traced function (AWS_EXECUTION_ENV, LAMBDA_TASK_ROOT, AWS_XRAY_CONTEXT_MISSING=LOG_ERROR, the
 * trace header only while an invocation runs), against dynalite, a fake Secrets Manager and a fake
 * provider on loopback. Each process: `require` (init), a first invocation, then warm ones.
 *
 *   npx tsx scripts/bench/lambda-cold-start.ts [--runs 7] [--entry lambda/handlers/proxy.ts] [--root <checkout>]
 *
 * `--root` bundles the handler of another checkout (a worktree of an older commit) to compare.
 * Prints Markdown on stdout. Timings are this machine's, with a full core: Lambda gives a function
 * CPU in proportion to its memory (one vCPU at 1,769 MB), which docs/benchmarks.md accounts for.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { build } from 'esbuild';
import { issueKey } from '../../lambda/keys/issue-key';
import { createTollgateTables, openDynamoStore } from '../../lambda/store/dynamodb';
import { median } from './stats';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] ? args[at + 1]! : fallback;
};
const runs = Number(option('runs', '7'));
const root = resolve(option('root', join(__dirname, '..', '..')));
const entry = option('entry', 'lambda/handlers/proxy.ts');

interface ChildResult {
  initMs: number;
  initCpuMs: number;
  firstMs: number;
  firstCpuMs: number;
  firstStatus: number;
  warmMs: number;
  warmCpuMs: number;
  streamCpuMs: number;
  bigBodyMs: number;
  bigBodyCpuMs: number;
  rssAfterInitMb: number;
  rssAfterFirstMb: number;
  maxRssMb: number;
  xrayErrors: number;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((done) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => done(Buffer.concat(chunks)));
  });
}

const COMPLETION = JSON.stringify({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-4o-2024-08-06',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello!' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 20, completion_tokens: 5, total_tokens: 25 },
});

/** A provider that answers at once: a completion, or (stream: true) 40 SSE events. */
async function fakeProvider(): Promise<{ url: string; close(): void }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void readBody(req).then((body) => {
      const stream = body.includes('"stream":true');
      if (!stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(COMPLETION);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < 40; i++) {
        res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: 'gpt-4o-2024-08-06', choices: [{ index: 0, delta: { content: `token ${i} ` } }] })}\n\n`);
      }
      res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: 'gpt-4o-2024-08-06', choices: [], usage: { prompt_tokens: 20, completion_tokens: 40, total_tokens: 60 } })}\n\n`);
      res.end('data: [DONE]\n\n');
    });
  });
  const url = await listen(server);
  return { url: `${url}/v1`, close: () => server.close() };
}

/** Secrets Manager's GetSecretValue (AWS JSON 1.1), holding the provider secret. */
async function fakeSecrets(secretId: string, value: string): Promise<{ url: string; close(): void }> {
  const server = createServer((req, res) => {
    void readBody(req).then(() => {
      const text = JSON.stringify({ ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${secretId}-AbCdEf`, Name: secretId, VersionId: 'v1', SecretString: value, VersionStages: ['AWSCURRENT'], CreatedDate: 1_700_000_000 });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': String(Buffer.byteLength(text)) });
      res.end(text);
    });
  });
  return { url: await listen(server), close: () => server.close() };
}

/** Runs in the fresh process: everything it measures, sent back over IPC (stdout carries the handler's logs). */
const CHILD = String.raw`
const { Writable } = require('node:stream');
const { performance } = require('node:perf_hooks');
const { resourceUsage, memoryUsage, cpuUsage } = process;
const cpuMs = (from) => { const d = process.cpuUsage(from); return (d.user + d.system) / 1000; };
const mb = (bytes) => Math.round(bytes / 1048576 * 10) / 10;
let xrayErrors = 0;
const originalError = console.error;
console.error = (...a) => { if (String(a[0]).includes('Missing AWS Lambda trace data')) xrayErrors++; };
const [bundle, key, bigBytes] = process.argv.slice(2);
const event = (body, stream = false) => ({
  version: '2.0', routeKey: '$default', rawPath: '/proxy/openai/chat/completions', rawQueryString: '',
  headers: { authorization: 'Bearer ' + key, 'content-type': 'application/json', host: 'abc.lambda-url.us-east-1.on.aws' },
  requestContext: { accountId: '123456789012', apiId: 'abc', domainName: 'abc.lambda-url.us-east-1.on.aws', domainPrefix: 'abc', requestId: 'r', routeKey: '$default', stage: '$default', time: '', timeEpoch: 0,
    http: { method: 'POST', path: '/proxy/openai/chat/completions', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' } },
  body, isBase64Encoded: false,
});
const context = () => ({ awsRequestId: 'req-' + Math.random(), functionName: 'tollgate-proxy', getRemainingTimeInMillis: () => 900000, callbackWaitsForEmptyEventLoop: false });
const sink = () => { let head = ''; const w = new Writable({ write(chunk, _e, cb) { if (head.length < 200) head += chunk.toString(); cb(); } }); w.status = () => { const m = /"statusCode":(\d+)/.exec(head); return m ? Number(m[1]) : 0; }; return w; };
const chat = (extra = {}) => JSON.stringify({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }], ...extra });
async function invoke(handler, body) {
  process.env._X_AMZN_TRACE_ID = 'Root=1-6745f1a0-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1';
  const out = sink(); const t = performance.now(); const c = process.cpuUsage();
  try { await handler(event(body), out, context()); } finally { delete process.env._X_AMZN_TRACE_ID; }
  return { ms: performance.now() - t, cpuMs: cpuMs(c), status: out.status() };
}
(async () => {
  const c0 = process.cpuUsage(); const t0 = performance.now();
  const { handler } = require(bundle);
  const initMs = performance.now() - t0; const initCpuMs = cpuMs(c0);
  const rssAfterInitMb = mb(memoryUsage().rss);
  // The runtime fetches the first event from the Runtime API before invoking: a few ms in which
  // whatever init started runs, outside any trace. Counted in the first invocation's time: the
  // event is waiting.
  const tNext = performance.now(); const cNext = process.cpuUsage();
  await new Promise((done) => setTimeout(done, 5));
  const first = await invoke(handler, chat());
  first.ms = performance.now() - tNext; first.cpuMs = cpuMs(cNext);
  const rssAfterFirstMb = mb(memoryUsage().rss);
  const warm = []; for (let i = 0; i < 20; i++) warm.push(await invoke(handler, chat()));
  const streams = []; for (let i = 0; i < 10; i++) streams.push(await invoke(handler, chat({ stream: true })));
  const big = await invoke(handler, chat({ messages: [{ role: 'user', content: 'x'.repeat(Number(bigBytes)) }] }));
  const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
  process.send({ initMs, initCpuMs, firstMs: first.ms, firstCpuMs: first.cpuMs, firstStatus: first.status, warmMs: med(warm.map((w) => w.ms)), warmCpuMs: med(warm.map((w) => w.cpuMs)),
    streamCpuMs: med(streams.map((s) => s.cpuMs)), bigBodyMs: big.ms, bigBodyCpuMs: big.cpuMs, rssAfterInitMb, rssAfterFirstMb, maxRssMb: mb(resourceUsage().maxRSS * 1024), xrayErrors,
    statuses: [first.status, ...warm.map((w) => w.status), ...streams.map((s) => s.status), big.status] }, () => process.exit(0));
})().catch((e) => { originalError(e); process.exit(1); });
`;

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'tollgate-cold-'));
  // dynalite in this process, as the tests run it.
  const dynalite = (require('dynalite') as (o: object) => Server)({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const dynamoUrl = await listen(dynalite);
  const client = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamoUrl, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const tables = { keysTable: 'cold-keys', spendTable: 'cold-spend' };
  await createTollgateTables(client, tables);
  await client.send(new CreateTableCommand({ TableName: 'cold-prices', BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] }));
  const store = openDynamoStore({ client, ...tables });
  await store.createProject({ name: 'acme', createdAt: new Date().toISOString(), limits: { monthly: 1_000_000_000_000 } });
  const { key } = await issueKey(store, { project: 'acme' });
  const provider = await fakeProvider();
  const secrets = await fakeSecrets('tollgate/cold/providers', JSON.stringify({ openai: 'sk-cold' }));

  const bundle = join(work, 'index.js');
  await build({
    absWorkingDir: root,
    entryPoints: [join(root, entry)],
    outfile: bundle,
    bundle: true,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    mainFields: ['module', 'main'],
    logLevel: 'silent',
  });
  const childFile = join(work, 'child.js');
  writeFileSync(childFile, CHILD);
  const env = {
    PATH: process.env['PATH'] ?? '',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'x',
    AWS_SECRET_ACCESS_KEY: 'x',
    AWS_ENDPOINT_URL_DYNAMODB: dynamoUrl,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING: '1',
    // What Lambda sets for a function with active tracing.
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: 'tollgate-proxy',
    LAMBDA_TASK_ROOT: work,
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
    AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000',
    NODE_OPTIONS: '--enable-source-maps',
    POWERTOOLS_SERVICE_NAME: 'tollgate',
    TOLLGATE_KEYS_TABLE: tables.keysTable,
    TOLLGATE_SPEND_TABLE: tables.spendTable,
    TOLLGATE_PRICES_TABLE: 'cold-prices',
    TOLLGATE_CONFIG_JSON: JSON.stringify({ providers: { openai: { baseUrl: provider.url, credential: { secret: 'tollgate/cold/providers', field: 'openai' } } } }),
  };
  const once = () =>
    new Promise<ChildResult & { statuses: number[] }>((done, fail) => {
      const child = fork(childFile, [bundle, key, String(5 * 1024 * 1024)], { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      child.once('message', (message) => done(message as ChildResult & { statuses: number[] }));
      child.once('exit', (code) => (code === 0 ? undefined : fail(new Error(`child exited ${code}`))));
    });
  await once(); // warms the page cache, as a Lambda's package is on local disk
  const results: (ChildResult & { statuses: number[] })[] = [];
  for (let i = 0; i < runs; i++) results.push(await once());
  const bad = results.flatMap((r) => r.statuses).filter((status) => status !== 200);
  if (bad.length > 0) throw new Error(`some invocations did not answer 200: ${bad.join(', ')}`);

  const m = (field: keyof ChildResult) => Math.round(median(results.map((r) => r[field])) * 10) / 10;
  const rows: [string, string][] = [
    ['init: `require(bundle)`', `${m('initMs')} ms (${m('initCpuMs')} ms CPU)`],
    ['first invocation, from the end of init (a 5 ms fetch of the event, then a chat completion: key, project, prices, secret, reserve, upstream, settle)', `${m('firstMs')} ms (${m('firstCpuMs')} ms CPU)`],
    ['X-Ray "Missing AWS Lambda trace data" errors logged per cold start', `${m('xrayErrors')}`],
    ['warm invocation, same request (median of 20)', `${m('warmMs')} ms (${m('warmCpuMs')} ms CPU)`],
    ['warm streamed invocation, 41 events (CPU, median of 10)', `${m('streamCpuMs')} ms CPU`],
    ['a 5 MiB prompt', `${m('bigBodyMs')} ms (${m('bigBodyCpuMs')} ms CPU)`],
    ['RSS after init / after the first invocation', `${m('rssAfterInitMb')} / ${m('rssAfterFirstMb')} MiB`],
    ['peak RSS (the 5 MiB prompt included)', `${m('maxRssMb')} MiB`],
  ];
  process.stdout.write(`Lambda proxy (${entry} in ${root}), ${runs} fresh processes, medians:\n\n| measure | value |\n| --- | --- |\n`);
  for (const [name, value] of rows) process.stdout.write(`| ${name} | ${value} |\n`);

  provider.close();
  secrets.close();
  client.destroy();
  dynalite.close();
  rmSync(work, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
