import { Agent, request } from 'undici';
import { percentile, Samples } from './stats';

export interface StreamOptions {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  readonly concurrency: number;
  /** Streams each worker runs back to back. */
  readonly streamsPerWorker: number;
  /** Events the upstream sends per stream; a stream that delivers fewer counts as failed. */
  readonly expectedEvents: number;
  /** A fresh counter per stream of the events each chunk completes (the API's framing). */
  readonly eventCounter: () => (chunk: Buffer) => number;
  /**
   * Workers start this far apart (ms), so concurrent streams arrive spread out as in steady
   * state rather than as one synchronised burst. Use about stream duration ÷ concurrency.
   */
  readonly staggerMs?: number;
}

export interface StreamResult {
  readonly streams: number;
  readonly failed: number;
  /** Request sent → first body byte, ms. */
  readonly ttfcP50: number;
  readonly ttfcP99: number;
  /** Between successive reads that completed at least one event, ms. */
  readonly gapP50: number;
  readonly gapP99: number;
  readonly gapMean: number;
  /** Request sent → last byte, ms. */
  readonly totalP50: number;
}

/**
 * A small streaming client (SSE or AWS event-stream): autocannon cannot time chunks. Keep-alive
 * connections are reused across a run, as an SDK's would be; a stream's clock starts just before
 * its request is written.
 */
export async function runStreams(options: StreamOptions, dispatcher: Agent): Promise<StreamResult> {
  const ttfc = new Samples();
  const gaps = new Samples();
  const totals = new Samples();
  let failed = 0;

  async function one(): Promise<void> {
    const started = performance.now();
    let first = true;
    let last = 0;
    let events = 0;
    const countEvents = options.eventCounter();
    try {
      const response = await request(options.url, { method: 'POST', headers: options.headers, body: options.body, dispatcher });
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        const now = performance.now();
        if (first) {
          ttfc.push(now - started);
          first = false;
        }
        const completed = countEvents(chunk);
        if (completed > 0) {
          if (events > 0) gaps.push(now - last);
          last = now;
        }
        events += completed;
      }
      if (response.statusCode !== 200 || events < options.expectedEvents) failed++;
      else totals.push(performance.now() - started);
    } catch {
      failed++;
    }
  }

  await Promise.all(
    Array.from({ length: options.concurrency }, async (_, worker) => {
      if (options.staggerMs) await new Promise((resolve) => setTimeout(resolve, worker * options.staggerMs!));
      for (let i = 0; i < options.streamsPerWorker; i++) await one();
    }),
  );
  const ttfcSorted = ttfc.sorted();
  const gapSorted = gaps.sorted();
  let gapSum = 0;
  for (const gap of gapSorted) gapSum += gap;
  return {
    streams: options.concurrency * options.streamsPerWorker,
    failed,
    ttfcP50: percentile(ttfcSorted, 50),
    ttfcP99: percentile(ttfcSorted, 99),
    gapP50: percentile(gapSorted, 50),
    gapP99: percentile(gapSorted, 99),
    gapMean: gapSum / gapSorted.length,
    totalP50: percentile(totals.sorted(), 50),
  };
}
