import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { FileGuard, FileIdentity } from './sqlite-file-guard';
import { CHECKPOINT_INTERVAL_MS, createLedger, type LedgerOutcome, type LedgerWrite } from './sqlite-ledger';
import { decodeOutcomes, type WriterData, type WriterReply, type WriterRequest } from './sqlite-writer-protocol';

/**
 * Where reservations and settlements are written. Writes asked for within one event-loop turn are
 * committed together (group commit), each caller getting its own outcome:
 *
 * ```
 * turn n:   reserve(a) reserve(b) settle(c)      (queued, nothing written yet)
 * then:     BEGIN IMMEDIATE; a; b; c; COMMIT      ─▶ a, b, c resolve, each with its own outcome
 * ```
 */
export interface SpendWriter {
  write(write: LedgerWrite): Promise<LedgerOutcome>;
  expired(nowIso: string, limit: number): Promise<string[]>;
  /** Resolves once every write asked for before the call is committed, so a read then sees them. */
  caughtUp(): Promise<void>;
  close(): Promise<void>;
}

interface Waiter {
  readonly resolve: (outcome: LedgerOutcome) => void;
  readonly reject: (error: Error) => void;
}

/** Collects one turn's writes and hands them over as a group once the turn ends. */
class TurnQueue {
  private writes: LedgerWrite[] = [];
  private waiters: Waiter[] = [];
  private scheduled = false;

  constructor(private readonly commit: (writes: LedgerWrite[], waiters: Waiter[]) => void) {}

  push(write: LedgerWrite): Promise<LedgerOutcome> {
    return new Promise((resolve, reject) => {
      this.writes.push(write);
      this.waiters.push({ resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  flush(): void {
    this.scheduled = false;
    if (this.writes.length === 0) return;
    const { writes, waiters } = this;
    this.writes = [];
    this.waiters = [];
    this.commit(writes, waiters);
  }
}

function answer(waiters: readonly Waiter[], outcomes: readonly (LedgerOutcome | Error)[]): void {
  waiters.forEach((waiter, index) => {
    const outcome = outcomes[index];
    if (outcome === undefined) waiter.reject(new Error('the spend writer returned no outcome for a write'));
    else if (outcome instanceof Error) waiter.reject(outcome);
    else waiter.resolve(outcome);
  });
}

/** On the caller's own thread: for in-memory stores, which no second connection can open. */
export function inlineWriter(db: Database.Database, guard?: FileGuard): SpendWriter {
  const ledger = createLedger(db, guard);
  const queue = new TurnQueue((writes, waiters) => answer(waiters, ledger.apply(writes)));
  const checkpoint = setInterval(() => ledger.checkpoint(), CHECKPOINT_INTERVAL_MS);
  checkpoint.unref();
  return {
    write: (write) => queue.push(write),
    async expired(nowIso, limit) {
      queue.flush();
      return ledger.expired(nowIso, limit);
    },
    async caughtUp() {
      queue.flush();
    },
    async close() {
      clearInterval(checkpoint);
      queue.flush();
    },
  };
}

/**
 * The thread holds little more than the records of the requests in flight: a small heap keeps it
 * from adding much to the gateway's memory (whose peak under load the bench reports).
 */
const WRITER_HEAP = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 96 };

type Pending = { readonly resolve: (reply: WriterReply) => void; readonly reject: (error: Error) => void };

/** One thread and the requests it has not answered yet: a thread that ends fails exactly these. */
interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
}

export class SpendWriterClosedError extends Error {
  constructor() {
    super('the store is closed: spend can no longer be written through it');
    this.name = 'SpendWriterClosedError';
  }
}

/**
 * On a thread of its own, with its own connection to the file: SQLite's work (statements, commits,
 * WAL checkpoints and their fsyncs) leaves the event loop that serves requests, and while the
 * thread commits one group the next one gathers. Started on the first write, so CLI commands that
 * only read never start it. A thread that dies fails the writes it held (the gateway retries a
 * settlement) and the next write starts another. Once closed, writes are refused, never lost
 * silently. The thread checks before each answer that `files` (none: no check) are still the
 * store's (see the ledger).
 */
export function threadWriter(file: string, files: readonly FileIdentity[] = []): SpendWriter {
  let thread: Thread | undefined;
  let closed = false;
  let seq = 0;

  const start = (): Thread => {
    const entry = writerEntry();
    const data: WriterData = { file, files };
    const worker = new Worker(entry.file, { workerData: data, execArgv: entry.execArgv, resourceLimits: WRITER_HEAP });
    const started: Thread = { worker, pending: new Map() };
    worker.unref();
    const fail = (error: Error): void => {
      if (thread === started) thread = undefined;
      for (const entry of started.pending.values()) entry.reject(error);
      started.pending.clear();
    };
    worker.on('message', (reply: WriterReply) => {
      const entry = started.pending.get(reply.seq);
      started.pending.delete(reply.seq);
      if (started.pending.size === 0) worker.unref();
      if (!entry) return;
      if ('error' in reply) entry.reject(new Error(reply.error));
      else entry.resolve(reply);
    });
    worker.on('error', (error) => fail(new Error(`the spend writer thread failed: ${error.message}`)));
    worker.on('exit', (code) => fail(new Error(`the spend writer thread exited (code ${code})`)));
    return started;
  };
  const send = (request: WriterRequest, to?: Thread): Promise<WriterReply> =>
    new Promise((resolve, reject) => {
      const target = to ?? (thread ??= start());
      if (target.pending.size === 0) target.worker.ref();
      target.pending.set(request.seq, { resolve, reject });
      try {
        target.worker.postMessage(request);
      } catch (error) {
        target.pending.delete(request.seq);
        if (target.pending.size === 0) target.worker.unref();
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });

  // Each turn's writes go over as one message as soon as the turn ends. Groups that arrive while
  // the thread is committing are committed together there (see the thread). Holding them back
  // here instead, until the thread answers, made bigger groups but kept requests waiting longer:
  // more of their objects outlived the young generation, and peak memory rose by ~40 MB under load.
  const queue = new TurnQueue((writes, waiters) => {
    if (closed) {
      answer(waiters, writes.map(() => new SpendWriterClosedError()));
      return;
    }
    // Flat, primitives only: the cheapest shape to copy between threads.
    const ops: (string | number)[] = [];
    for (const write of writes) {
      if (write.kind === 'reserve') ops.push(0, write.record);
      else if (write.kind === 'settle') ops.push(1, write.id, write.actualNanos);
      else ops.push(2, write.id);
    }
    send({ type: 'write', seq: ++seq, ops }).then(
      (reply) => {
        const { outcomes, used, errors } = reply as Extract<WriterReply, { outcomes: number[] }>;
        answer(
          waiters,
          decodeOutcomes(outcomes, used).map((outcome, index) => {
            const error = errors?.[index];
            return typeof error === 'string' ? new Error(error || 'the spend write failed') : outcome;
          }),
        );
      },
      (error: Error) => answer(waiters, writes.map(() => error)),
    );
  });

  return {
    write: (write) => (closed ? Promise.reject(new SpendWriterClosedError()) : queue.push(write)),
    async expired(nowIso, limit) {
      if (closed) throw new SpendWriterClosedError();
      queue.flush();
      const reply = await send({ type: 'expired', seq: ++seq, nowIso, limit });
      return (reply as Extract<WriterReply, { records: string[] }>).records;
    },
    async caughtUp() {
      queue.flush();
      // The thread answers in order: once this is answered, everything before it is committed.
      if (thread) await send({ type: 'sync', seq: ++seq }, thread);
    },
    async close() {
      if (closed) return;
      // Writes asked for before now still go; any asked for later are refused.
      queue.flush();
      closed = true;
      const closing = thread;
      thread = undefined;
      if (!closing) return;
      const exited = new Promise<void>((resolve) => closing.worker.once('exit', () => resolve()));
      await send({ type: 'close', seq: ++seq }, closing).catch(() => {});
      // Its answer left the thread unref'd: held again until it exits, or a process with nothing
      // else to do would end first, and the caller's own connection would never be closed.
      closing.worker.ref();
      await exited;
    },
  };
}

/**
 * The thread's entry file: built next to the bundle that loads this module (`npm start`, the
 * bench), or, run from source (tests, tsx), the TypeScript file compiled by tsx.
 */
function writerEntry(): { file: string; execArgv: string[] } {
  const built = join(__dirname, 'sqlite-writer-thread.js');
  if (existsSync(built)) return { file: built, execArgv: [] };
  return { file: join(__dirname, 'sqlite-writer-thread.ts'), execArgv: ['--require', require.resolve('tsx/cjs')] };
}

