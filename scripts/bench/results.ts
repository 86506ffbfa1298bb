/** The shape of bench-results/*.json, shared by main.ts, targets.ts and report.ts. */
import type { BundleResult } from './bundle';
import type { ProfileSummary } from './profile';

export type TargetName = 'direct' | 'bare' | 'gateway';
export const TARGETS: readonly TargetName[] = ['direct', 'bare', 'gateway'];

export interface LoadFigures {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /** Child CPU (user + system) per completed request, µs; direct has no proxy process. */
  readonly cpuUsPerRequest?: number;
  /** The kernel's share of that CPU time, µs. */
  readonly systemUsPerRequest?: number;
  /** read + write syscalls per request (Linux /proc/<pid>/io): sockets and, for the gateway, SQLite. */
  readonly syscallsPerRequest?: number;
  /**
   * CPU of the event-loop thread alone per request, µs, and the share of the run it was busy: a
   * Node proxy serves from one thread, so when that thread is saturated this, not the process
   * total, bounds throughput.
   */
  readonly loopCpuUsPerRequest?: number;
  readonly loopUtilization?: number;
  readonly failed: number;
  /** Per repeat, for the record. */
  readonly runs: readonly { readonly rps: number; readonly p50: number; readonly p99: number }[];
}

export interface NonStreamingRow {
  readonly api: string;
  readonly concurrency: number;
  readonly direct: LoadFigures;
  readonly bare: LoadFigures;
  readonly gateway: LoadFigures;
  /** Medians of the per-repeat differences (paired: same repeat, back to back), ms. */
  readonly addedP50VsBare: number;
  readonly addedP99VsBare: number;
  readonly addedP50VsDirect: number;
  readonly addedP99VsDirect: number;
  /** Medians of the per-repeat ratios. */
  readonly gatewayOverBare: number;
  /** The lowest and highest per-repeat gateway ÷ bare ratio: how far one repeat can be trusted. */
  readonly gatewayOverBareRange: readonly [number, number];
  readonly gatewayOverDirect: number;
  readonly bareOverDirect: number;
}

export interface StreamFigures {
  readonly ttfcP50: number;
  readonly ttfcP99: number;
  readonly gapP50: number;
  readonly gapP99: number;
  readonly totalP50: number;
  readonly streams: number;
  readonly failed: number;
}

export interface StreamingRow {
  readonly api: string;
  readonly concurrency: number;
  readonly direct: StreamFigures;
  readonly bare: StreamFigures;
  readonly gateway: StreamFigures;
  readonly addedTtfcP50VsBare: number;
  readonly addedTtfcP99VsBare: number;
  readonly addedTtfcP50VsDirect: number;
  readonly addedGapP50VsBare: number;
  readonly addedGapP99VsBare: number;
  readonly addedGapP50VsDirect: number;
}

export interface RoundTripRow {
  readonly api: string;
  readonly kind: 'document' | 'stream';
  readonly requests: number;
  /** Store calls before the request went upstream / before the client's first byte: the usual request. */
  readonly beforeUpstreamMedian: number;
  readonly beforeFirstByteMedian: number;
  /** The worst request probed (e.g. a key-cache miss). */
  readonly beforeFirstByteMax: number;
  readonly totalMedian: number;
  /** Which calls, for a median request and for the worst one. */
  readonly methodsTypical: Record<string, number>;
  readonly methodsWorst: Record<string, number>;
}

export interface TargetCheck {
  readonly id: string;
  readonly label: string;
  readonly target: string;
  readonly measured: number;
  readonly unit: string;
  /** undefined: could not be measured in this run. */
  readonly met: boolean | undefined;
}

export interface Machine {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly commit: string;
  /** Files under lambda/ changed against the commit when the run started. */
  readonly lambdaChanges: number;
}

export interface BenchResults {
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly quick: boolean;
  readonly machine: Machine;
  readonly settings: Record<string, unknown>;
  readonly gatewayLimits: 'on' | 'off';
  readonly gatewayTracing: 'on' | 'off';
  readonly notRun: readonly { readonly scenario: string; readonly reason: string }[];
  readonly nonStreaming: readonly NonStreamingRow[];
  readonly streaming: readonly StreamingRow[];
  readonly processes: {
    readonly gatewayPeakRssMiB: number;
    readonly gatewayIdleRssMiB: number;
    readonly bareProxyPeakRssMiB: number;
  };
  readonly roundTrips: readonly RoundTripRow[];
  readonly bundles: readonly BundleResult[];
  readonly targets: readonly TargetCheck[];
  readonly profile?: ProfileSummary;
}
