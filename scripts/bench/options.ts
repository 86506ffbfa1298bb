export interface BenchOptions {
  readonly quick: boolean;
  readonly profile: boolean;
  /** Profile only: skip the measured runs and the bundle. */
  readonly profileOnly: boolean;
  readonly repeats: number;
  /** Seconds per autocannon run; scaled down if the plan would overrun the time budget. */
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly concurrencies: readonly number[];
  readonly streamConcurrencies: readonly number[];
  /** Streams per worker at concurrency 1; higher concurrencies run fewer each. */
  readonly streamsAtOne: number;
  readonly latencyMs: number;
  readonly streamEvents: number;
  readonly streamIntervalMs: number;
  readonly firstChunkDelayMs: number;
  /** `auto`: on if the gateway supports spend limits, otherwise off (and reported as not run). */
  readonly limits: 'auto' | 'on' | 'off';
  /** OpenTelemetry export from the gateway, to the fake upstream's `/v1/traces` (as to a collector on another host). */
  readonly tracing: 'on' | 'off';
  readonly bundleRuns: number;
  readonly probeRequests: number;
  readonly profileSeconds: number;
  /** Wall-clock budget for the measured runs, seconds. */
  readonly budgetSeconds: number;
  readonly out: string;
}

export const USAGE = `npm run bench [-- options]

  --quick                 smoke run (< 60 s): one repeat, 1 s runs
  --profile               also profile the gateway under load (--cpu-prof) and list its hot spots
  --profile-only          only the profile
  --repeats=N             interleaved repeats per scenario (default 3; quick 1)
  --seconds=S             seconds per load run (default 3; quick 1)
  --concurrency=1,10,50,200
  --stream-concurrency=1,50
  --latency-ms=MS         fake upstream latency for non-streaming calls (default 0)
  --stream-events=N       SSE events per stream (default 20)
  --stream-interval-ms=MS gap between events (default 5)
  --first-chunk-delay-ms=MS
  --limits=auto|on|off    spend limits on the gateway (default auto: on once supported)
  --tracing=on|off        the gateway exports a span per request and per attempt over OTLP/HTTP (default off)
  --out=PATH              JSON output (default bench-results/latest.json; quick: bench-results/quick.json)
`;

export function parseOptions(argv: readonly string[]): BenchOptions {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match?.[1]) throw new Error(`unknown argument ${arg}\n\n${USAGE}`);
    flags.set(match[1], match[2] ?? 'true');
  }
  const known = new Set(USAGE.match(/--[a-z-]+/g)?.map((flag) => flag.slice(2)));
  for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown option --${name}\n\n${USAGE}`);

  const quick = flags.get('quick') === 'true';
  const number = (name: string, fallback: number): number => {
    const raw = flags.get(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number`);
    return value;
  };
  const list = (name: string, fallback: number[]): number[] => {
    const raw = flags.get(name);
    if (raw === undefined) return fallback;
    const values = raw.split(',').map(Number);
    if (values.some((value) => !Number.isInteger(value) || value < 1 || value > 1000)) throw new Error(`--${name}: integers 1..1000`);
    return values;
  };
  const limits = flags.get('limits') ?? 'auto';
  if (limits !== 'auto' && limits !== 'on' && limits !== 'off') throw new Error('--limits must be auto, on or off');
  const tracing = flags.get('tracing') ?? 'off';
  if (tracing !== 'on' && tracing !== 'off') throw new Error('--tracing must be on or off');
  const profileOnly = flags.get('profile-only') === 'true';
  return {
    quick,
    profile: profileOnly || flags.get('profile') === 'true',
    profileOnly,
    repeats: Math.max(1, Math.round(number('repeats', quick ? 1 : 3))),
    seconds: Math.max(0.5, number('seconds', quick ? 1 : 3)),
    warmupSeconds: quick ? 0.5 : 2,
    concurrencies: list('concurrency', [1, 10, 50, 200]),
    streamConcurrencies: list('stream-concurrency', [1, 50]),
    streamsAtOne: quick ? 6 : 20,
    latencyMs: number('latency-ms', 0),
    streamEvents: Math.max(6, Math.round(number('stream-events', 20))),
    streamIntervalMs: number('stream-interval-ms', 5),
    firstChunkDelayMs: number('first-chunk-delay-ms', 0),
    limits,
    tracing,
    bundleRuns: quick ? 3 : 7,
    probeRequests: quick ? 6 : 20,
    profileSeconds: quick ? 4 : 10,
    budgetSeconds: quick ? 38 : 235,
    out: flags.get('out') ?? (quick ? 'bench-results/quick.json' : 'bench-results/latest.json'),
  };
}
