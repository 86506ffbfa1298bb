import autocannon from 'autocannon';
import { percentile, Samples } from './stats';

export interface LoadOptions {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  readonly connections: number;
  readonly seconds: number;
}

export interface LoadResult {
  readonly ok: number;
  readonly failed: number;
  readonly seconds: number;
  readonly rps: number;
  /** Latencies of 2xx responses, ms, at µs resolution. */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly mean: number;
}

/**
 * Closed-loop load with autocannon, in this process. Its own latency histogram has 1 ms buckets,
 * too coarse for sub-millisecond overheads, so every response time (ms, from hrtime) is kept here.
 */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies = new Samples();
  let failed = 0;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        method: 'POST',
        headers: options.headers,
        body: options.body,
        connections: options.connections,
        duration: options.seconds,
        timeout: 10,
      },
      (error: unknown, result: autocannon.Result) => {
        if (error) return reject(error instanceof Error ? error : new Error(String(error)));
        const seconds = (performance.now() - started) / 1000;
        const sorted = latencies.sorted();
        let sum = 0;
        for (const value of sorted) sum += value;
        resolve({
          ok: sorted.length,
          failed: failed + result.errors,
          seconds,
          rps: sorted.length / seconds,
          p50: percentile(sorted, 50),
          p90: percentile(sorted, 90),
          p99: percentile(sorted, 99),
          mean: sum / sorted.length,
        });
      },
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms);
      else failed++;
    });
  });
}
