/**
 * `npm run bench`: the gateway's overhead against a direct call and a bare node:http proxy, in one
 * interleaved run on loopback. See docs/benchmarks.md for the method; `--help` for the options.
 *
 * Processes (2 cores): this one runs the load generator (autocannon) and the stream client; the
 * fake upstream, the bare proxy and the gateway each run in a child of their own, so each one's
 * CPU time and peak RSS are its own and the upstream never shares an event loop with the load.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { Agent, request } from 'undici';
import { HEAP_GROWING_PERCENT } from '../../lambda/app/heap-growth';
import { LAMBDA_HANDLER, measureBundles, type BundleResult } from './bundle';
import type { ProcessStats } from './child';
import type { GatewayInfo, RoundTrips } from './gateway-role';
import { runLoad, type LoadResult } from './load';
import { parseOptions, type BenchOptions } from './options';
import { bundleSourceMap, buildChild, Child } from './procs';
import { summariseProfile, type ProfileSummary } from './profile';
import { renderMarkdown, renderProfile } from './report';
import {
  TARGETS,
  type BenchResults,
  type LoadFigures,
  type Machine,
  type NonStreamingRow,
  type RoundTripRow,
  type StreamFigures,
  type StreamingRow,
  type TargetName,
} from './results';
import { median } from './stats';
import { runStreams, type StreamResult } from './stream-client';
import { evaluateTargets } from './targets';
import type { UpstreamOptions } from './upstream';
import { APIS, type ApiShape } from './wire';

const ROOT = resolve(__dirname, '..', '..');
const MiB = 2 ** 20;
const children = new Set<Child<unknown>>();
const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

interface Targets {
  readonly upstream: Child<{ url: string }>;
  readonly bare: Child<{ url: string }>;
  readonly gateway: Child<GatewayInfo>;
}

function urlFor(targets: Targets, target: TargetName, api: ApiShape, stream: boolean): string {
  if (target === 'direct') return `${targets.upstream.info.url}${api.upstreamPath(stream)}`;
  return `${targets[target].info.url}${api.gatewayPath(stream)}`;
}

async function start<Info>(file: string, role: 'upstream' | 'bare' | 'gateway', options: object, execArgv: string[] = []): Promise<Child<Info>> {
  const child = await Child.start<Info>(file, role, options, execArgv);
  children.add(child as Child<unknown>);
  child.proc.once('exit', () => children.delete(child as Child<unknown>));
  return child;
}

/** Limits on when asked (or, with `auto`, when the gateway supports them); otherwise off, noted as not run. */
async function startGateway(file: string, upstreamOrigin: string, limits: BenchOptions['limits'], tracing: BenchOptions['tracing'], execArgv: string[] = []) {
  let note: string | undefined;
  if (limits !== 'off') {
    try {
      return { child: await start<GatewayInfo>(file, 'gateway', { upstreamOrigin, limits: true, tracing: tracing === 'on' }, execArgv), note };
    } catch (error) {
      if (limits === 'on') throw error;
      note = error instanceof Error ? error.message : String(error);
    }
  }
  return { child: await start<GatewayInfo>(file, 'gateway', { upstreamOrigin, limits: false, tracing: tracing === 'on' }, execArgv), note };
}

/** One request through each target before measuring: a scenario that cannot work is skipped, not timed. */
async function sanityCheck(targets: Targets, api: ApiShape, expectedEvents: number, dispatcher: Agent): Promise<string | undefined> {
  if (!targets.gateway.info.providers.includes(api.provider)) return `the gateway has no "${api.provider}" provider yet`;
  for (const target of TARGETS) {
    for (const stream of [false, true]) {
      const response = await request(urlFor(targets, target, api, stream), {
        method: 'POST',
        headers: api.headers(targets.gateway.info.key),
        body: api.requestBody(stream),
        dispatcher,
      });
      const bytes = Buffer.from(await response.body.arrayBuffer());
      if (response.statusCode !== 200) return `${target} ${stream ? 'stream' : 'document'} answered ${response.statusCode}: ${bytes.toString('utf8').slice(0, 200)}`;
      const events = api.eventCounter()(bytes);
      if (stream && events < expectedEvents) return `${target} stream delivered ${events} of ${expectedEvents} events`;
    }
  }
  return undefined;
}

function streamMs(options: BenchOptions): number {
  return options.firstChunkDelayMs + (options.streamEvents - 1) * (options.streamIntervalMs + 1.2) + 2;
}

function streamsPerWorker(options: BenchOptions, concurrency: number): number {
  return concurrency === 1 ? options.streamsAtOne : Math.max(2, Math.ceil(options.streamsAtOne / 8));
}

/** Rough wall time of the measured runs, to keep the whole bench inside its budget. */
function plannedSeconds(options: BenchOptions, apis: number, seconds: number): { load: number; streams: number } {
  const load = options.repeats * apis * options.concurrencies.length * TARGETS.length * (seconds + 0.3) + apis * TARGETS.length * options.warmupSeconds;
  const perRepeat = options.streamConcurrencies.reduce((sum, c) => sum + streamsPerWorker(options, c), 0) * streamMs(options);
  const streams = (apis * TARGETS.length * (options.repeats * perRepeat + streamMs(options))) / 1000;
  return { load, streams };
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

interface ProcessCost {
  readonly cpuUs: number;
  readonly systemUs: number;
  readonly syscalls: number;
  /** The event-loop thread's own CPU time, µs; NaN where /proc has no per-thread times. */
  readonly loopThreadUs: number;
  /** Share of the run's wall time the event loop was busy (0–1). */
  readonly loopUtilization: number;
}

async function measured(child: Child<unknown> | undefined, run: () => Promise<LoadResult>): Promise<{ load: LoadResult; cost?: ProcessCost }> {
  const before = child && (await child.stats());
  const load = await run();
  const after = child && (await child.stats());
  if (!before || !after) return { load };
  return {
    load,
    cost: {
      cpuUs: after.userUs + after.systemUs - (before.userUs + before.systemUs),
      systemUs: after.systemUs - before.systemUs,
      syscalls: before.syscr < 0 ? Number.NaN : after.syscr + after.syscw - (before.syscr + before.syscw),
      loopThreadUs: before.loopThreadUs < 0 || after.loopThreadUs < 0 ? Number.NaN : after.loopThreadUs - before.loopThreadUs,
      loopUtilization: loopUtilization(before, after),
    },
  };
}

function loopUtilization(before: ProcessStats, after: ProcessStats): number {
  const active = after.loopActiveMs - before.loopActiveMs;
  const idle = after.loopIdleMs - before.loopIdleMs;
  return active + idle > 0 ? active / (active + idle) : Number.NaN;
}

interface LoadRecord {
  readonly api: string;
  readonly concurrency: number;
  readonly repeat: number;
  readonly target: TargetName;
  readonly load: LoadResult;
  readonly cpuUsPerRequest?: number;
  readonly systemUsPerRequest?: number;
  readonly syscallsPerRequest?: number;
  readonly loopCpuUsPerRequest?: number;
  readonly loopUtilization?: number;
}

interface StreamRecord {
  readonly api: string;
  readonly concurrency: number;
  readonly repeat: number;
  readonly target: TargetName;
  readonly result: StreamResult;
}

function loadFigures(records: readonly LoadRecord[]): LoadFigures {
  const cpu = records.map((r) => r.cpuUsPerRequest).filter((v): v is number => v !== undefined);
  const defined = (values: (number | undefined)[]) => values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  return {
    rps: median(records.map((r) => r.load.rps)),
    p50: median(records.map((r) => r.load.p50)),
    p99: median(records.map((r) => r.load.p99)),
    ...(cpu.length > 0 && {
      cpuUsPerRequest: median(cpu),
      systemUsPerRequest: median(defined(records.map((r) => r.systemUsPerRequest))),
      syscallsPerRequest: median(defined(records.map((r) => r.syscallsPerRequest))),
      loopCpuUsPerRequest: median(defined(records.map((r) => r.loopCpuUsPerRequest))),
      loopUtilization: median(defined(records.map((r) => r.loopUtilization))),
    }),
    failed: records.reduce((sum, r) => sum + r.load.failed, 0),
    runs: records.map((r) => ({ rps: r.load.rps, p50: r.load.p50, p99: r.load.p99 })),
  };
}

function streamFigures(records: readonly StreamRecord[]): StreamFigures {
  const pick = (f: (r: StreamResult) => number) => median(records.map((r) => f(r.result)));
  return {
    ttfcP50: pick((r) => r.ttfcP50),
    ttfcP99: pick((r) => r.ttfcP99),
    gapP50: pick((r) => r.gapP50),
    gapP99: pick((r) => r.gapP99),
    totalP50: pick((r) => r.totalP50),
    streams: records.reduce((sum, r) => sum + r.result.streams, 0),
    failed: records.reduce((sum, r) => sum + r.result.failed, 0),
  };
}

/** Median over repeats of a paired quantity (gateway vs another target in the same repeat). */
function paired<R extends { repeat: number; target: TargetName }>(records: readonly R[], other: TargetName, f: (gateway: R, other: R) => number): number {
  return median(pairedValues(records, other, f));
}

function pairedValues<R extends { repeat: number; target: TargetName }>(records: readonly R[], other: TargetName, f: (gateway: R, other: R) => number): number[] {
  const values: number[] = [];
  for (const g of records.filter((r) => r.target === 'gateway')) {
    const o = records.find((r) => r.target === other && r.repeat === g.repeat);
    if (o) values.push(f(g, o));
  }
  return values;
}

function range(values: readonly number[]): [number, number] {
  return values.length === 0 ? [NaN, NaN] : [Math.min(...values), Math.max(...values)];
}

function aggregateLoad(records: readonly LoadRecord[]): NonStreamingRow[] {
  const rows: NonStreamingRow[] = [];
  const keys = [...new Set(records.map((r) => `${r.api}|${r.concurrency}`))];
  for (const key of keys) {
    const [api, c] = key.split('|') as [string, string];
    const group = records.filter((r) => r.api === api && r.concurrency === Number(c));
    const of = (target: TargetName) => loadFigures(group.filter((r) => r.target === target));
    const bareOverDirect: number[] = [];
    for (const b of group.filter((r) => r.target === 'bare')) {
      const d = group.find((r) => r.target === 'direct' && r.repeat === b.repeat);
      if (d) bareOverDirect.push(b.load.rps / d.load.rps);
    }
    rows.push({
      api,
      concurrency: Number(c),
      direct: of('direct'),
      bare: of('bare'),
      gateway: of('gateway'),
      addedP50VsBare: paired(group, 'bare', (g, o) => g.load.p50 - o.load.p50),
      addedP99VsBare: paired(group, 'bare', (g, o) => g.load.p99 - o.load.p99),
      addedP50VsDirect: paired(group, 'direct', (g, o) => g.load.p50 - o.load.p50),
      addedP99VsDirect: paired(group, 'direct', (g, o) => g.load.p99 - o.load.p99),
      gatewayOverBare: paired(group, 'bare', (g, o) => g.load.rps / o.load.rps),
      gatewayOverBareRange: range(pairedValues(group, 'bare', (g, o) => g.load.rps / o.load.rps)),
      gatewayOverDirect: paired(group, 'direct', (g, o) => g.load.rps / o.load.rps),
      bareOverDirect: median(bareOverDirect),
    });
  }
  return rows;
}

function aggregateStreams(records: readonly StreamRecord[]): StreamingRow[] {
  const rows: StreamingRow[] = [];
  for (const key of [...new Set(records.map((r) => `${r.api}|${r.concurrency}`))]) {
    const [api, c] = key.split('|') as [string, string];
    const group = records.filter((r) => r.api === api && r.concurrency === Number(c));
    const of = (target: TargetName) => streamFigures(group.filter((r) => r.target === target));
    rows.push({
      api,
      concurrency: Number(c),
      direct: of('direct'),
      bare: of('bare'),
      gateway: of('gateway'),
      addedTtfcP50VsBare: paired(group, 'bare', (g, o) => g.result.ttfcP50 - o.result.ttfcP50),
      addedTtfcP99VsBare: paired(group, 'bare', (g, o) => g.result.ttfcP99 - o.result.ttfcP99),
      addedTtfcP50VsDirect: paired(group, 'direct', (g, o) => g.result.ttfcP50 - o.result.ttfcP50),
      addedGapP50VsBare: paired(group, 'bare', (g, o) => g.result.gapP50 - o.result.gapP50),
      addedGapP99VsBare: paired(group, 'bare', (g, o) => g.result.gapP99 - o.result.gapP99),
      addedGapP50VsDirect: paired(group, 'direct', (g, o) => g.result.gapP50 - o.result.gapP50),
    });
  }
  return rows;
}

function summariseRoundTrips(api: string, kind: RoundTripRow['kind'], records: readonly RoundTrips[]): RoundTripRow {
  const typicalCount = median(records.map((r) => r.beforeFirstByte));
  const typical = records.find((r) => r.beforeFirstByte === typicalCount) ?? records[0];
  const worst = records.reduce<RoundTrips | undefined>((w, r) => (!w || r.beforeFirstByte > w.beforeFirstByte ? r : w), undefined);
  return {
    api,
    kind,
    requests: records.length,
    beforeUpstreamMedian: median(records.map((r) => r.beforeUpstream)),
    beforeFirstByteMedian: typicalCount,
    beforeFirstByteMax: worst?.beforeFirstByte ?? Number.NaN,
    totalMedian: median(records.map((r) => r.total)),
    methodsTypical: typical?.methodsBeforeUpstream ?? {},
    methodsWorst: worst?.methodsBeforeUpstream ?? {},
  };
}

function machine(): Machine {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const git = (...args: string[]): string => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  return {
    nproc: availableParallelism(),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    node: process.version,
    memoryGiB: totalmem() / 2 ** 30,
    kernel: release(),
    commit: git('rev-parse', '--short', 'HEAD') || 'unknown',
    lambdaChanges: git('status', '--porcelain', '--', 'lambda').split('\n').filter(Boolean).length,
  };
}

async function profileGateway(options: BenchOptions, file: string, upstream: Child<{ url: string }>, apis: readonly ApiShape[], outDir: string): Promise<ProfileSummary | undefined> {
  const dir = join(outDir, 'profile');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(`profiling the gateway (--cpu-prof) for ~${options.profileSeconds + options.warmupSeconds + 2} s`);
  const { child: gateway } = await startGateway(file, upstream.info.url, options.limits, options.tracing, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-name=gateway.cpuprofile']);
  const dispatcher = new Agent({ keepAliveTimeout: 60_000, connections: 256 });
  let requests = 0;
  let cpuUs = 0;
  try {
    for (const api of apis) {
      const url = `${gateway.info.url}${api.gatewayPath(false)}`;
      const headers = api.headers(gateway.info.key);
      const share = 1 / apis.length;
      // CPU is counted over everything the profile covers after start-up, warm-up included.
      const before = await gateway.stats();
      requests += (await runLoad({ url, headers, body: api.requestBody(false), connections: 50, seconds: options.warmupSeconds * share })).ok;
      requests += (await runLoad({ url, headers, body: api.requestBody(false), connections: 50, seconds: options.profileSeconds * share })).ok;
      const streams = await runStreams(
        { url: `${gateway.info.url}${api.gatewayPath(true)}`, headers, body: api.requestBody(true), concurrency: 50, streamsPerWorker: 4, expectedEvents: options.streamEvents, eventCounter: api.eventCounter },
        dispatcher,
      );
      const after = await gateway.stats();
      cpuUs += after.userUs + after.systemUs - before.userUs - before.systemUs;
      requests += streams.streams - streams.failed;
    }
  } finally {
    await dispatcher.close();
    await gateway.stop();
  }
  const profile = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (!profile) return undefined;
  return summariseProfile(relative(ROOT, join(dir, profile)), requests, cpuUs / Math.max(1, requests), relative(ROOT, file).split('/').pop() ?? 'child.js', bundleSourceMap(file));
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const began = Date.now();
  const startedAt = new Date(began).toISOString();
  const outFile = resolve(ROOT, options.out);
  const outDir = dirname(outFile);
  const buildDir = join(ROOT, 'bench-results', '.build');
  mkdirSync(buildDir, { recursive: true });
  mkdirSync(outDir, { recursive: true });

  // The bench always stops by itself: a hard ceiling over everything, children included.
  const ceilingSeconds = (options.quick ? 75 : 290) + (options.profile ? options.profileSeconds + 40 : 0);
  setTimeout(() => {
    log(`hard time limit of ${ceilingSeconds} s reached; stopping`);
    for (const child of children) child.kill();
    process.exit(2);
  }, ceilingSeconds * 1000).unref();

  const childFile = await buildChild(ROOT, buildDir);
  const upstreamOptions: UpstreamOptions = {
    latencyMs: options.latencyMs,
    streamEvents: options.streamEvents,
    firstChunkDelayMs: options.firstChunkDelayMs,
    streamIntervalMs: options.streamIntervalMs,
  };
  const upstream = await start<{ url: string }>(childFile, 'upstream', upstreamOptions);
  const notRun: { scenario: string; reason: string }[] = [];
  const allApis = Object.values(APIS);

  if (options.profileOnly) {
    const profile = await profileGateway(options, childFile, upstream, [APIS['openai-chat']], outDir);
    await upstream.stop();
    if (profile) {
      const file = join(outDir, 'profile.json');
      writeFileSync(file, `${JSON.stringify(profile, null, 2)}\n`);
      process.stdout.write(`${renderProfile(profile)}\n`);
      log(`wrote ${relative(ROOT, file)}`);
    }
    return;
  }

  // The heap growth bound `tollgate serve` sets for itself, so the two proxies' memory compares like for like.
  const bare = await start<{ url: string }>(childFile, 'bare', { upstreamOrigin: upstream.info.url }, [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`]);
  const { child: gateway, note: limitsNote } = await startGateway(childFile, upstream.info.url, options.limits, options.tracing);
  if (limitsNote) notRun.push({ scenario: 'gateway with spend limits on (all scenarios ran with limits off)', reason: limitsNote });
  const targets: Targets = { upstream, bare, gateway };
  const idle = await gateway.stats();
  log(`upstream ${upstream.info.url}, bare proxy ${bare.info.url}, gateway ${gateway.info.url} (providers: ${gateway.info.providers.join(', ')}; limits ${gateway.info.limits})`);

  const dispatchers = Object.fromEntries(TARGETS.map((t) => [t, new Agent({ keepAliveTimeout: 60_000, connections: 256 })])) as Record<TargetName, Agent>;
  const apis: ApiShape[] = [];
  for (const api of allApis) {
    const reason = await sanityCheck(targets, api, options.streamEvents, dispatchers.direct);
    if (reason) notRun.push({ scenario: `${api.id} (document and stream)`, reason });
    else apis.push(api);
  }
  if (apis.length === 0) throw new Error(`no scenario can run: ${notRun.map((n) => n.reason).join('; ')}`);

  let seconds = options.seconds;
  const plan = plannedSeconds(options, apis.length, seconds);
  if (plan.load + plan.streams > options.budgetSeconds) {
    const runs = options.repeats * apis.length * options.concurrencies.length * TARGETS.length;
    seconds = Math.max(options.quick ? 0.5 : 1, Math.floor(((options.budgetSeconds - plan.streams - apis.length * TARGETS.length * options.warmupSeconds) / runs - 0.3) * 10) / 10);
    log(`plan would take ${Math.round(plan.load + plan.streams)} s; load runs shortened to ${seconds} s`);
  }
  const planned = plannedSeconds(options, apis.length, seconds);
  log(`measuring ${apis.map((a) => a.id).join(', ')}: about ${Math.round(planned.load + planned.streams)} s`);

  // Warm-up: JIT, connection pools and SQLite pages, for every target, before anything is recorded.
  for (const api of apis) {
    for (const target of TARGETS) {
      await runLoad({ url: urlFor(targets, target, api, false), headers: api.headers(gateway.info.key), body: api.requestBody(false), connections: 50, seconds: options.warmupSeconds });
    }
  }

  // Stream warm-up: one round at the highest stream concurrency opens every keep-alive connection the runs will use.
  const streamOptions = (api: ApiShape, target: TargetName, concurrency: number, streams: number) => ({
    url: urlFor(targets, target, api, true),
    headers: api.headers(gateway.info.key),
    body: api.requestBody(true),
    concurrency,
    streamsPerWorker: streams,
    expectedEvents: options.streamEvents,
    eventCounter: api.eventCounter,
    staggerMs: concurrency > 1 ? streamMs(options) / concurrency : 0,
  });
  for (const api of apis) {
    for (const target of TARGETS) await runStreams({ ...streamOptions(api, target, Math.max(...options.streamConcurrencies), 1), staggerMs: 0 }, dispatchers[target]);
  }

  const loadRecords: LoadRecord[] = [];
  for (let repeat = 0; repeat < options.repeats; repeat++) {
    for (const api of apis) {
      for (const [ci, concurrency] of options.concurrencies.entries()) {
        // Interleaved, and in a rotating order, so drift (thermal, page cache, WAL growth) hits every target alike.
        for (const target of rotate(TARGETS, repeat + ci)) {
          const child = target === 'direct' ? undefined : targets[target];
          const { load, cost } = await measured(child, () =>
            runLoad({ url: urlFor(targets, target, api, false), headers: api.headers(gateway.info.key), body: api.requestBody(false), connections: concurrency, seconds }),
          );
          const served = Math.max(1, load.ok + load.failed);
          loadRecords.push({
            api: api.id,
            concurrency,
            repeat,
            target,
            load,
            ...(cost && {
              cpuUsPerRequest: cost.cpuUs / served,
              systemUsPerRequest: cost.systemUs / served,
              syscallsPerRequest: cost.syscalls / served,
              loopCpuUsPerRequest: cost.loopThreadUs / served,
              loopUtilization: cost.loopUtilization,
            }),
          });
          log(`${api.id} c=${concurrency} r${repeat + 1} ${target.padEnd(7)} ${Math.round(load.rps)} req/s p50 ${load.p50.toFixed(3)} ms p99 ${load.p99.toFixed(3)} ms${load.failed ? ` FAILED ${load.failed}` : ''}`);
        }
      }
    }
  }

  const streamRecords: StreamRecord[] = [];
  for (let repeat = 0; repeat < options.repeats; repeat++) {
    for (const api of apis) {
      for (const [ci, concurrency] of options.streamConcurrencies.entries()) {
        for (const target of rotate(TARGETS, repeat + ci)) {
          const result = await runStreams(streamOptions(api, target, concurrency, streamsPerWorker(options, concurrency)), dispatchers[target]);
          streamRecords.push({ api: api.id, concurrency, repeat, target, result });
          log(`${api.id} stream c=${concurrency} r${repeat + 1} ${target.padEnd(7)} TTFC p50 ${result.ttfcP50.toFixed(3)} ms gap p50 ${result.gapP50.toFixed(3)} ms${result.failed ? ` FAILED ${result.failed}` : ''}`);
        }
      }
    }
  }

  // Store round trips: sequential requests, so every store call belongs to the one request in flight.
  await gateway.request('probe-start');
  const probes: { api: string; kind: RoundTripRow['kind'] }[] = [];
  for (const api of apis) {
    for (const kind of ['document', 'stream'] as const) {
      // Streams take ~0.1 s each; a few are enough, since the count is the same every time.
      const count = kind === 'stream' ? Math.max(3, Math.ceil(options.probeRequests / 4)) : options.probeRequests;
      for (let i = 0; i < count; i++) {
        const response = await request(urlFor(targets, 'gateway', api, kind === 'stream'), { method: 'POST', headers: api.headers(gateway.info.key), body: api.requestBody(kind === 'stream'), dispatcher: dispatchers.gateway });
        await response.body.dump();
        probes.push({ api: api.id, kind });
        // A request's window ends when its response finishes, which its settlement can follow by
        // a thread round trip after the client's last byte: without a gap, the next request's
        // reservation would be counted in this one's window.
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  }
  // The last settlement lands just after the client's last byte: give it a moment before reading.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const probed = await gateway.request<RoundTrips[]>('probe-stop');
  const roundTrips: RoundTripRow[] = [];
  for (const api of apis) {
    for (const kind of ['document', 'stream'] as const) {
      const records = probed.filter((_, index) => probes[index]?.api === api.id && probes[index]?.kind === kind);
      roundTrips.push(summariseRoundTrips(api.id, kind, records));
    }
  }

  const gatewayFinal = await gateway.stats();
  const bareFinal = await bare.stats();
  await Promise.all(Object.values(dispatchers).map((d) => d.close()));
  await gateway.stop();
  await bare.stop();

  const profile = options.profile ? await profileGateway(options, childFile, upstream, apis, outDir) : undefined;
  await upstream.stop();

  log('bundling the Lambda entry and timing cold init');
  const bundles: BundleResult[] = await measureBundles(ROOT, buildDir, options.bundleRuns);
  for (const bundle of bundles) if (bundle.error) notRun.push({ scenario: `bundle ${bundle.name}`, reason: bundle.error });
  if (!bundles.some((b) => b.judged && !b.standIn)) {
    notRun.push({ scenario: 'Lambda bundle and cold init of the real handler', reason: `${LAMBDA_HANDLER} does not exist yet: measured on stand-in entries (see the bundle table)` });
  }

  const partial: Omit<BenchResults, 'targets'> = {
    startedAt,
    durationSeconds: (Date.now() - began) / 1000,
    quick: options.quick,
    machine: machine(),
    settings: {
      repeats: options.repeats,
      seconds,
      concurrencies: options.concurrencies,
      streamConcurrencies: options.streamConcurrencies,
      streamsPerWorker: Object.fromEntries(options.streamConcurrencies.map((c) => [c, streamsPerWorker(options, c)])),
      latencyMs: options.latencyMs,
      streamEvents: options.streamEvents,
      streamIntervalMs: options.streamIntervalMs,
      firstChunkDelayMs: options.firstChunkDelayMs,
      warmupSeconds: options.warmupSeconds,
      bundleRuns: options.bundleRuns,
      probeRequests: options.probeRequests,
    },
    gatewayLimits: gateway.info.limits,
    gatewayTracing: gateway.info.tracing,
    notRun,
    nonStreaming: aggregateLoad(loadRecords),
    streaming: aggregateStreams(streamRecords),
    processes: {
      gatewayPeakRssMiB: gatewayFinal.maxRssBytes / MiB,
      gatewayIdleRssMiB: idle.rssBytes / MiB,
      bareProxyPeakRssMiB: bareFinal.maxRssBytes / MiB,
    },
    roundTrips,
    bundles,
    ...(profile && { profile }),
  };
  const results: BenchResults = { ...partial, targets: evaluateTargets(partial) };
  writeFileSync(outFile, `${JSON.stringify({ ...results, raw: { load: loadRecords, streams: streamRecords } }, null, 2)}\n`);
  process.stdout.write(`${renderMarkdown(results)}\n`);
  log(`wrote ${relative(ROOT, outFile)} in ${Math.round((Date.now() - began) / 1000)} s`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    for (const child of children) child.kill();
    process.exit(1);
  },
);
