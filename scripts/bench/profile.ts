import { readFileSync } from 'node:fs';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface HotSpot {
  readonly name: string;
  readonly where: string;
  readonly ms: number;
  /** Share of the profile's busy (non-idle) time. */
  readonly pct: number;
  /** Per request served during the profile, µs. */
  readonly usPerRequest: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly requests: number;
  readonly busyMs: number;
  readonly idleMs: number;
  readonly busyUsPerRequest: number;
  /** CPU time (getrusage) per request over the profiled load, µs, for comparison with busy time. */
  readonly cpuUsPerRequest: number;
  /** Self time in the native socket write (writev), which includes time preempted after waking the peer. */
  readonly socketWriteMs: number;
  /** Self time by area: each lambda/ file, each npm package, node internals, GC, V8/native. */
  readonly byArea: readonly HotSpot[];
  /** Self time by function, everything. */
  readonly topSelf: readonly HotSpot[];
  /** Inclusive time of lambda/ functions (time with the function on the stack). */
  readonly lambdaInclusive: readonly HotSpot[];
}

/**
 * Reads a V8 .cpuprofile of the bundled gateway child. `sourceOf(line)` maps a line of the bundle
 * back to its lambda/ or scripts/ file; node_modules stay external, so their URLs name them.
 */
export function summariseProfile(
  file: string,
  requests: number,
  cpuUsPerRequest: number,
  bundleFile: string,
  sourceOf: (line: number) => string | undefined,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, index) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000));

  const where = (frame: CallFrame): string => {
    if (frame.url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(V8 builtin / native)';
    if (frame.url.endsWith(bundleFile)) return sourceOf(frame.lineNumber) ?? 'scripts/bench (bundle)';
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(frame.url);
    if (pkg) return `${pkg[1]}: ${pkg[2]}`;
    return frame.url.replace(/^file:\/\//, '');
  };
  const area = (frame: CallFrame): string => {
    const at = where(frame);
    if (at.startsWith('lambda/') || at.startsWith('scripts/')) return at;
    if (at.startsWith('node:')) return 'node internals (node:*)';
    if (at.startsWith('(')) return at === '(garbage collector)' || at === '(program)' || at === '(idle)' ? at : '(V8 builtin / native)';
    return `npm: ${at.split(':')[0]}`;
  };

  let idleMs = 0;
  let busyMs = 0;
  let socketWriteMs = 0;
  for (const [id, ms] of self) {
    const node = nodes.get(id);
    if (node?.callFrame.functionName === '(idle)') idleMs += ms;
    else busyMs += ms;
    if (node?.callFrame.url === '' && (node.callFrame.functionName === 'writev' || node.callFrame.functionName.startsWith('write'))) socketWriteMs += ms;
  }
  const spot = (name: string, at: string, ms: number): HotSpot => ({ name, where: at, ms, pct: (ms / busyMs) * 100, usPerRequest: requests > 0 ? (ms * 1000) / requests : NaN });
  const top = (totals: Map<string, { name: string; at: string; ms: number }>, limit: number): HotSpot[] =>
    [...totals.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, limit)
      .map((entry) => spot(entry.name, entry.at, entry.ms));
  const add = (totals: Map<string, { name: string; at: string; ms: number }>, key: string, name: string, at: string, ms: number) => {
    const entry = totals.get(key);
    if (entry) entry.ms += ms;
    else totals.set(key, { name, at, ms });
  };

  const byArea = new Map<string, { name: string; at: string; ms: number }>();
  const bySelf = new Map<string, { name: string; at: string; ms: number }>();
  for (const [id, ms] of self) {
    const frame = nodes.get(id)?.callFrame;
    if (!frame || frame.functionName === '(idle)') continue;
    const at = where(frame);
    add(byArea, area(frame), area(frame), '', ms);
    const name = frame.functionName || '(anonymous)';
    add(bySelf, `${name}@${at}:${frame.lineNumber}`, name, `${at}`, ms);
  }

  // Inclusive time of lambda/ functions: each sample counts once per distinct function on its stack.
  const inclusive = new Map<string, { name: string; at: string; ms: number }>();
  const active = new Map<string, number>();
  const root = profile.nodes[0];
  const stack: { node: ProfileNode; entered: boolean; key?: string }[] = root ? [{ node: root, entered: false }] : [];
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as { node: ProfileNode; entered: boolean; key?: string };
    if (top.entered) {
      stack.pop();
      if (top.key) active.set(top.key, (active.get(top.key) ?? 1) - 1);
      continue;
    }
    top.entered = true;
    const frame = top.node.callFrame;
    const at = where(frame);
    if (at.startsWith('lambda/')) {
      const key = `${frame.functionName || '(anonymous)'}@${at}`;
      top.key = key;
      active.set(key, (active.get(key) ?? 0) + 1);
      if (!inclusive.has(key)) inclusive.set(key, { name: frame.functionName || '(anonymous)', at, ms: 0 });
    }
    const ms = frame.functionName === '(idle)' ? 0 : (self.get(top.node.id) ?? 0);
    if (ms > 0) {
      for (const [key, depth] of active) if (depth > 0) (inclusive.get(key) as { ms: number }).ms += ms;
    }
    for (const child of top.node.children ?? []) {
      const node = nodes.get(child);
      if (node) stack.push({ node, entered: false });
    }
  }

  return {
    file,
    requests,
    busyMs,
    idleMs,
    busyUsPerRequest: requests > 0 ? (busyMs * 1000) / requests : NaN,
    cpuUsPerRequest,
    socketWriteMs,
    byArea: top(byArea, 16),
    topSelf: top(bySelf, 25),
    lambdaInclusive: top(inclusive, 20),
  };
}
