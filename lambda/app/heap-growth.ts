import { setFlagsFromString } from 'node:v8';

/**
 * The growth factor V8 may apply to old space after a full collection, as a percentage over what
 * that collection kept. Left to itself V8 picks a factor of up to 4× when collections look cheap:
 * under a burst of concurrent requests (the bench's c=200) a gateway whose live heap is ~20 MiB
 * grew old space to 45–60 MiB and peaked at 155–186 MiB resident. At 20 % (V8 still adds its own
 * minimum step and the young generation on top) the same runs peaked at 144–147 MiB, for ~13 more
 * full collections over ~120k requests (~60 ms in all: under 1 µs a request). Unlike a heap cap
 * (`--max-old-space-size`) this never turns a large request into an out-of-memory crash: the
 * limit still follows the live heap up.
 */
export const HEAP_GROWING_PERCENT = 20;

/**
 * The V8 flag to set, or undefined when the operator started node with a heap growth of their own
 * (`node --heap-growing-percent=N …`; node refuses the flag in NODE_OPTIONS), which stays theirs.
 */
export function heapGrowthFlag(execArgv: readonly string[]): string | undefined {
  const chosen = execArgv.some((arg) => /^--heap[-_]growing[-_]percent=/.test(arg));
  return chosen ? undefined : `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

/**
 * For a long-lived server process, whose peak memory under a burst matters more than a few more
 * collections: process-wide, so the server's entry point calls it, not the gateway it starts.
 * V8 reads this flag each time it sizes old space after a full collection, so setting it after
 * start takes effect (unlike the heap size limits, fixed when the heap is set up).
 */
export function boundHeapGrowth(execArgv: readonly string[] = process.execArgv): void {
  const flag = heapGrowthFlag(execArgv);
  if (flag) setFlagsFromString(flag);
}
