/**
 * Entry point of every process the bench starts: `node child.js <role> <json options>`, bundled by
 * esbuild and run with plain node (no TypeScript loader in the measured process). It reports
 * `ready`, then answers commands over IPC: its own CPU time and peak RSS, role-specific probes,
 * and `exit` (which also lets `--cpu-prof` write its profile).
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { UpstreamOptions } from './upstream';

export type Role = 'upstream' | 'bare' | 'gateway';

export interface ProcessStats {
  readonly userUs: number;
  readonly systemUs: number;
  /** Peak resident set size (VmHWM), bytes. */
  readonly maxRssBytes: number;
  readonly rssBytes: number;
  /** read/write syscalls so far (Linux /proc/self/io); -1 where unavailable. */
  readonly syscr: number;
  readonly syscw: number;
  /**
   * CPU time of the event-loop thread alone, µs (Linux /proc), -1 where unavailable. The gateway's
   * other threads (the spend writer, V8's helpers) are in userUs/systemUs.
   */
  readonly loopThreadUs: number;
  /** `performance.eventLoopUtilization()` so far: ms the loop was idle and active. */
  readonly loopIdleMs: number;
  readonly loopActiveMs: number;
}

export interface CommandMessage {
  readonly id: number;
  readonly cmd: string;
}

type Handler = () => Promise<unknown>;

function stats(): ProcessStats {
  const cpu = process.cpuUsage();
  let io = '';
  try {
    io = readFileSync('/proc/self/io', 'utf8');
  } catch {
    // not Linux
  }
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? -1);
  const loop = performance.eventLoopUtilization();
  return {
    userUs: cpu.user,
    systemUs: cpu.system,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    rssBytes: process.memoryUsage.rss(),
    syscr: field('syscr'),
    syscw: field('syscw'),
    loopThreadUs: loopThreadUs(),
    loopIdleMs: loop.idle,
    loopActiveMs: loop.active,
  };
}

/** USER_HZ: the unit of /proc's CPU times, 100 on every Linux build Node supports. */
const TICKS_PER_SECOND = 100;

/** The main thread's id is the process id. */
function loopThreadUs(): number {
  const task = `/proc/self/task/${process.pid}`;
  try {
    // Nanoseconds on the CPU, where the kernel keeps scheduler statistics (it reads 0 where it
    // does not, as on the Firecracker VM the figures in docs/benchmarks.md come from).
    const onCpuNs = Number(readFileSync(`${task}/schedstat`, 'utf8').split(' ')[0]);
    if (onCpuNs > 0) return onCpuNs / 1000;
  } catch {
    // no such file: the 10 ms ticks below
  }
  try {
    // Fields 14 and 15 (counted after the parenthesised name): utime and stime.
    const stat = readFileSync(`${task}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / TICKS_PER_SECOND;
  } catch {
    return -1;
  }
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function start(role: Role, options: Record<string, unknown>): Promise<{ info: unknown; commands: Record<string, Handler>; close(): Promise<void> }> {
  switch (role) {
    // Each role loads only its own code: the gateway's peak RSS must not include the bare proxy's undici.
    case 'upstream': {
      const { createUpstream } = await import('./upstream');
      const server = createUpstream(options as unknown as UpstreamOptions);
      const url = await listen(server);
      return { info: { url }, commands: {}, close: () => closeServer(server) };
    }
    case 'bare': {
      const [{ createBareProxy }, { barePathTable }] = await Promise.all([import('./bare-proxy'), import('./wire')]);
      const server = createBareProxy(String(options['upstreamOrigin']), barePathTable());
      const url = await listen(server);
      return { info: { url }, commands: {}, close: () => closeServer(server) };
    }
    case 'gateway': {
      const { startGatewayRole } = await import('./gateway-role');
      return startGatewayRole({ upstreamOrigin: String(options['upstreamOrigin']), limits: options['limits'] === true, tracing: options['tracing'] === true });
    }
  }
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function main(): Promise<void> {
  const role = process.argv[2] as Role;
  const options = JSON.parse(process.argv[3] ?? '{}') as Record<string, unknown>;
  const send = (message: unknown) => process.send?.(message);
  // An orphan never outlives the bench.
  process.on('disconnect', () => process.exit(0));
  let running: Awaited<ReturnType<typeof start>>;
  try {
    running = await start(role, options);
  } catch (error) {
    send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  }
  const commands: Record<string, Handler> = {
    ...running.commands,
    stats: async () => stats(),
    exit: async () => {
      await Promise.race([running.close(), new Promise((resolve) => setTimeout(resolve, 2_000))]);
      return null;
    },
  };
  process.on('message', (message: CommandMessage) => {
    const handler = commands[message.cmd];
    const reply = handler ? handler() : Promise.reject(new Error(`unknown command ${message.cmd}`));
    // After `exit` the process leaves once its answer is out (and `--cpu-prof` has written its file).
    const after = (): void => {
      if (message.cmd === 'exit') process.exit(0);
    };
    reply.then(
      (result) => process.send?.({ id: message.id, ok: true, result }, after),
      (error: unknown) => process.send?.({ id: message.id, ok: false, message: error instanceof Error ? error.message : String(error) }, after),
    );
  });
  send({ type: 'ready', info: running.info, pid: process.pid });
}

void main();
