import { createServer } from 'node:net';
import { FORMAT_CALLS, sendCall } from '../support/format-calls';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver';
import { startTracedGateway, type TracedGateway } from '../support/traced-gateway';

/** A loopback port nothing listens on: connections to it are refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe('a receiver that hangs or cannot be reached', () => {
  let silent: OtlpReceiver;
  let baseline: TracedGateway;
  let hanging: TracedGateway;
  let unreachable: TracedGateway;

  beforeAll(async () => {
    // Accepts every export and never answers: each export waits its full timeout.
    silent = await startOtlpReceiver({ respond: () => 'hang' });
    const queue = { delayMs: 1, maxSpans: 8, batchSize: 4 };
    [baseline, hanging, unreachable] = await Promise.all([
      startTracedGateway({ tracing: {} }),
      startTracedGateway({ tracing: { export: { endpoint: silent.url, timeoutMs: 600_000 }, queue } }),
      startTracedGateway({ tracing: { export: { endpoint: `http://127.0.0.1:${await closedPort()}` }, queue } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([baseline.close(), hanging.close(), unreachable.close()]);
    await silent.close();
  });

  it('adds no latency a request waits on: every request is answered while the receiver still holds its first export', async () => {
    const keys = await Promise.all([baseline, hanging, unreachable].map((gateway) => gateway.issue()));
    const call = FORMAT_CALLS[1]!; // a streamed chat: the span ends with the body
    const added: { hanging: number[]; unreachable: number[] } = { hanging: [], unreachable: [] };

    // Interleaved, so that the machine's load falls on all three alike.
    for (let round = 0; round < 25; round++) {
      const timings: number[] = [];
      for (const [index, gateway] of [baseline, hanging, unreachable].entries()) {
        const started = performance.now();
        const response = await sendCall(gateway.gateway.url, call, keys[index]!.key);
        timings.push(performance.now() - started);
        expect(response.status).toBe(200);
        expect(response.body.toString('utf8')).toContain('data: [DONE]');
      }
      added.hanging.push(timings[1]! - timings[0]!);
      added.unreachable.push(timings[2]! - timings[0]!);
    }

    // The silent receiver got an export and has answered none: had any request waited on export,
    // it would still be waiting (the export timeout is ten minutes).
    expect(silent.requests.length).toBeGreaterThanOrEqual(1);
    // The bound on what tracing added per request, median of paired differences: far below any
    // export wait (10 min here), loose enough for a loaded 2-core machine.
    expect(median(added.hanging)).toBeLessThan(25);
    expect(median(added.unreachable)).toBeLessThan(25);
  });
});
