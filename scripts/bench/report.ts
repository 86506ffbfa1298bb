import type { ProfileSummary } from './profile';
import type { BenchResults, LoadFigures, NonStreamingRow, StreamFigures } from './results';
import { ISSUE_REFERENCE, TARGET_VALUES } from './targets';

const ms = (value: number): string => (Number.isFinite(value) ? (Math.abs(value) < 10 ? value.toFixed(3) : value.toFixed(1)) : 'n/a');
const signed = (value: number): string => (Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${ms(value)}` : 'n/a');
const int = (value: number): string => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a');
const pct = (value: number): string => (Number.isFinite(value) ? `${(value * 100).toFixed(1)} %` : 'n/a');
const num = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

const calls = (methods: Record<string, number>): string =>
  Object.entries(methods)
    .map(([name, count]) => `${name}×${count}`)
    .join(', ') || '—';

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

const triple = (d: LoadFigures, b: LoadFigures, g: LoadFigures, pick: (f: LoadFigures) => number, format: (v: number) => string) =>
  `${format(pick(d))} / ${format(pick(b))} / ${format(pick(g))}`;
const streamTriple = (d: StreamFigures, b: StreamFigures, g: StreamFigures, pick: (f: StreamFigures) => number) => `${ms(pick(d))} / ${ms(pick(b))} / ${ms(pick(g))}`;

export function renderMarkdown(results: BenchResults): string {
  const m = results.machine;
  const s = results.settings;
  const out: string[] = [];
  out.push(`## tollgate bench — ${results.startedAt}${results.quick ? ' (quick smoke run: indicative only)' : ''}`);
  out.push('');
  out.push(
    `Machine: ${m.nproc} cores (${m.cpuModel}), ${num(m.memoryGiB)} GiB, Linux ${m.kernel}, Node ${m.node}. Commit ${m.commit}` +
      `${m.lambdaChanges > 0 ? ` + ${m.lambdaChanges} uncommitted change(s) under lambda/` : ''}. Run took ${num(results.durationSeconds, 0)} s.`,
  );
  out.push(
    `Settings: ${s['repeats']} interleaved repeat(s) × ${s['seconds']} s per load run; upstream latency ${s['latencyMs']} ms; streams of ${s['streamEvents']} events every ${s['streamIntervalMs']} ms; gateway on SQLite, spend limits ${results.gatewayLimits}, tracing ${results.gatewayTracing}.`,
  );
  out.push('');

  out.push('### Targets (issue 6)');
  out.push('');
  out.push(
    table(
      ['target', 'measured', 'goal', 'met'],
      results.targets.map((t) => [t.label, `${t.unit === '%' || t.unit === 'MiB' ? num(t.measured, t.unit === 'MiB' ? 2 : 1) : t.unit === 'µs' ? num(t.measured, 0) : t.unit === 'ms' ? ms(t.measured) : num(t.measured, 0)} ${t.unit}`.trim(), t.target, t.met === undefined ? 'not measured' : t.met ? 'met' : '**not met**']),
    ),
  );
  out.push('');
  const ref = results.nonStreaming.find((row) => row.concurrency === 50);
  if (ref) {
    out.push(
      `For scale (issue's own measurements on this machine): direct ≈ ${int(ISSUE_REFERENCE.directRpsAt50)} req/s at c=50 (here ${int(ref.direct.rps)}), ` +
        `bare proxy ≈ ${pct(ISSUE_REFERENCE.bareOverDirectAt50)} of direct (here ${pct(ref.bareOverDirect)}), a popular TS gateway ≈ ${pct(ISSUE_REFERENCE.popularGatewayOverDirect)} of direct (tollgate here ${pct(ref.gatewayOverDirect)}).`,
    );
    out.push('');
  }

  out.push('### Non-streaming chat (closed loop, autocannon)');
  out.push('');
  out.push(
    table(
      ['api', 'c', 'req/s direct / bare / gateway', 'gw ÷ bare (repeats: lowest–highest)', 'gw ÷ direct', 'p50 ms d / b / g', 'p99 ms d / b / g', 'added p50 vs bare / direct', 'added p99 vs bare / direct', 'CPU µs/req bare / gw (of which kernel)', 'event loop thread: CPU µs/req bare / gw (busy)', 'syscalls/req bare / gw'],
      results.nonStreaming.map((row) => [
        row.api,
        String(row.concurrency),
        triple(row.direct, row.bare, row.gateway, (f) => f.rps, int),
        `${pct(row.gatewayOverBare)} (${(row.gatewayOverBareRange[0] * 100).toFixed(0)}–${(row.gatewayOverBareRange[1] * 100).toFixed(0)})`,
        pct(row.gatewayOverDirect),
        triple(row.direct, row.bare, row.gateway, (f) => f.p50, ms),
        triple(row.direct, row.bare, row.gateway, (f) => f.p99, ms),
        `${signed(row.addedP50VsBare)} / ${signed(row.addedP50VsDirect)}`,
        `${signed(row.addedP99VsBare)} / ${signed(row.addedP99VsDirect)}`,
        `${num(row.bare.cpuUsPerRequest ?? NaN, 0)} (${num(row.bare.systemUsPerRequest ?? NaN, 0)}) / ${num(row.gateway.cpuUsPerRequest ?? NaN, 0)} (${num(row.gateway.systemUsPerRequest ?? NaN, 0)})`,
        `${num(row.bare.loopCpuUsPerRequest ?? NaN, 0)} (${pct(row.bare.loopUtilization ?? NaN)}) / ${num(row.gateway.loopCpuUsPerRequest ?? NaN, 0)} (${pct(row.gateway.loopUtilization ?? NaN)})`,
        `${num(row.bare.syscallsPerRequest ?? NaN, 1)} / ${num(row.gateway.syscallsPerRequest ?? NaN, 1)}`,
      ]),
    ),
  );
  out.push('', ...loopNotes(results.nonStreaming));
  const failures = results.nonStreaming.reduce((sum, row) => sum + row.direct.failed + row.bare.failed + row.gateway.failed, 0);
  if (failures > 0) out.push('', `**${failures} failed or non-2xx responses** during the load runs (see the JSON).`);
  out.push('');

  out.push('### Streaming chat (custom undici client)');
  out.push('');
  out.push(
    table(
      ['api', 'c', 'streams', 'TTFC p50 ms d / b / g', 'TTFC p99 ms d / b / g', 'added TTFC p50 vs bare / direct', 'added TTFC p99 vs bare', 'gap p50 ms d / b / g', 'gap p99 ms d / b / g', 'added gap p50 / p99 vs bare'],
      results.streaming.map((row) => [
        row.api,
        String(row.concurrency),
        `${row.gateway.streams}${row.direct.failed + row.bare.failed + row.gateway.failed > 0 ? ` (${row.direct.failed}/${row.bare.failed}/${row.gateway.failed} failed)` : ''}`,
        streamTriple(row.direct, row.bare, row.gateway, (f) => f.ttfcP50),
        streamTriple(row.direct, row.bare, row.gateway, (f) => f.ttfcP99),
        `${signed(row.addedTtfcP50VsBare)} / ${signed(row.addedTtfcP50VsDirect)}`,
        signed(row.addedTtfcP99VsBare),
        streamTriple(row.direct, row.bare, row.gateway, (f) => f.gapP50),
        streamTriple(row.direct, row.bare, row.gateway, (f) => f.gapP99),
        `${signed(row.addedGapP50VsBare)} / ${signed(row.addedGapP99VsBare)}`,
      ]),
    ),
  );
  out.push('');

  out.push('### Gateway process, store round trips, Lambda bundle');
  out.push('');
  out.push(
    `Gateway peak RSS ${num(results.processes.gatewayPeakRssMiB)} MiB (idle after start ${num(results.processes.gatewayIdleRssMiB)} MiB); bare proxy peak ${num(results.processes.bareProxyPeakRssMiB)} MiB.`,
  );
  out.push('');
  out.push(
    table(
      ['api', 'request', 'probed', 'store calls before upstream (median)', 'before first byte: median / worst', 'in all per request (median)', 'calls before upstream, usual request', 'same, worst request'],
      results.roundTrips.map((row) => [
        row.api,
        row.kind,
        String(row.requests),
        num(row.beforeUpstreamMedian, 0),
        `${num(row.beforeFirstByteMedian, 0)} / ${num(row.beforeFirstByteMax, 0)}`,
        num(row.totalMedian, 0),
        calls(row.methodsTypical),
        calls(row.methodsWorst),
      ]),
    ),
  );
  out.push('');
  out.push(
    table(
      ['bundle (esbuild, minified, everything bundled)', 'size', 'gzip', 'require() median', 'whole process median (node alone)', 'largest inputs'],
      results.bundles.map((b) => [
        b.name,
        b.error ? `failed: ${b.error.split('\n')[0]}` : `${num(b.bytes / 2 ** 20, 2)} MiB`,
        b.error ? '' : `${num(b.gzipBytes / 2 ** 10, 0)} KiB`,
        `${ms(b.requireMs)} ms`,
        `${ms(b.processMs)} ms (${ms(b.nodeBaselineMs)} ms)`,
        b.topInputs.map((input) => `${input.name} ${num(input.bytes / 1024, 0)} KiB`).join(', '),
      ]),
    ),
  );
  out.push('');

  if (results.notRun.length > 0) {
    out.push('### Not run');
    out.push('');
    for (const item of results.notRun) out.push(`- ${item.scenario}: ${item.reason}`);
    out.push('');
  }

  if (results.profile) out.push(renderProfile(results.profile));
  return out.join('\n');
}

export function renderProfile(p: ProfileSummary): string {
  const out: string[] = [];
  out.push(`### Gateway CPU profile (--cpu-prof, ${int(p.requests)} requests)`);
  out.push('');
  out.push(
    `Sampled busy time ${num(p.busyMs, 0)} ms = ${num(p.busyUsPerRequest, 1)} µs per request (idle ${num(p.idleMs, 0)} ms); the CPU time the process really used was ${num(p.cpuUsPerRequest, 1)} µs per request (profiler overhead included). ` +
      `Samples are wall-clock: ${num(p.socketWriteMs, 0)} ms (${num((p.socketWriteMs * 1000) / p.requests, 1)} µs/req) sit in native socket writes, mostly time spent preempted after waking the peer process on a 2-core box, so read the JS shares below against the CPU figure. Profile: ${p.file}`,
  );
  out.push('');
  out.push(table(['self time by area', 'ms', '% busy', 'µs/req'], p.byArea.map((h) => [h.name, num(h.ms, 0), num(h.pct), num(h.usPerRequest)])));
  out.push('');
  out.push(table(['lambda/ function (inclusive)', 'file', 'ms', '% busy', 'µs/req'], p.lambdaInclusive.map((h) => [h.name, h.where, num(h.ms, 0), num(h.pct), num(h.usPerRequest)])));
  out.push('');
  out.push(table(['function (self)', 'where', 'ms', '% busy', 'µs/req'], p.topSelf.map((h) => [h.name, h.where, num(h.ms, 0), num(h.pct), num(h.usPerRequest)])));
  out.push('');
  return out.join('\n');
}

/** Busier than this, an event loop is taken as saturated: its CPU per request sets its throughput. */
const SATURATED = 0.9;

/**
 * Both proxies serve from one event-loop thread: once it is saturated, its CPU per request bounds
 * throughput. Against the bare proxy's, the gateway's says what the throughput ratio can be at most.
 * Judged at c=50, where the throughput target is; said only when both loops were saturated.
 */
function loopNotes(rows: readonly NonStreamingRow[]): string[] {
  const notes: string[] = [];
  for (const row of rows.filter((r) => r.concurrency === 50)) {
    const bare = row.bare.loopCpuUsPerRequest;
    const gateway = row.gateway.loopCpuUsPerRequest;
    if (bare === undefined || gateway === undefined || !(bare > 0) || !(gateway > 0)) continue;
    if (!((row.bare.loopUtilization ?? 0) >= SATURATED && (row.gateway.loopUtilization ?? 0) >= SATURATED)) {
      notes.push(`${row.api}, c=50: the event loops were not both saturated (busy ${pct(row.gateway.loopUtilization ?? NaN)} / ${pct(row.bare.loopUtilization ?? NaN)}), so their CPU per request bounds nothing here.`);
      continue;
    }
    notes.push(
      `${row.api}, c=50: the gateway's event loop used ${num(gateway / bare, 2)}× the bare proxy's CPU per request ` +
        `(${num(gateway, 0)} vs ${num(bare, 0)} µs, busy ${pct(row.gateway.loopUtilization ?? NaN)} vs ${pct(row.bare.loopUtilization ?? NaN)}); ` +
        `with both loops saturated that caps gateway ÷ bare near ${pct(bare / gateway)}, and ${pct(TARGET_VALUES.throughputOfBareAt50)} needs ≤ ${num(bare / TARGET_VALUES.throughputOfBareAt50, 0)} µs.`,
    );
  }
  return notes.length > 0 ? [...notes, ''] : [];
}
