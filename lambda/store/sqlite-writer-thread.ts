import type Database from 'better-sqlite3';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { openDatabase, retireLog } from './sqlite-database';
import { FileGuard } from './sqlite-file-guard';
import { CHECKPOINT_INTERVAL_MS, createLedger, type LedgerWrite } from './sqlite-ledger';
import { encodeOutcomes, type WriterData, type WriterReply, type WriterRequest } from './sqlite-writer-protocol';

/** The spend writer thread (see `threadWriter`): its own connection, the ledger, the checkpoints. */
if (!parentPort) throw new Error('sqlite-writer-thread runs as a worker thread');
const port = parentPort;
const { file, files } = workerData as WriterData;
// The file this thread opens must be the one the store opened: a thread started after the file was
// deleted or replaced fails (and so fail the writes it was started for) before it writes anything.
// Once it is, the log is emptied into the old file at once, off the event loop (see retireLog).
let opened: Database.Database | undefined;
const guard = new FileGuard(files, { onFailure: () => opened && retireLog(opened) });
const db = (opened = openDatabase(file, guard));
const ledger = createLedger(db, guard);
const checkpoint = setInterval(() => ledger.checkpoint(), CHECKPOINT_INTERVAL_MS);

const reply = (message: WriterReply): void => port.postMessage(message);

/** Groups that arrived while the last one committed are committed together: one transaction, fewer fsyncs. */
function commitWrites(requests: readonly Extract<WriterRequest, { type: 'write' }>[]): void {
  const writes: LedgerWrite[] = [];
  for (const { ops } of requests) {
    for (let i = 0; i < ops.length; ) {
      if (ops[i] === 0) {
        writes.push({ kind: 'reserve', record: ops[i + 1] as string });
        i += 2;
      } else if (ops[i] === 2) {
        writes.push({ kind: 'release', id: ops[i + 1] as string });
        i += 2;
      } else {
        writes.push({ kind: 'settle', id: ops[i + 1] as string, actualNanos: ops[i + 2] as number });
        i += 3;
      }
    }
  }
  const results = ledger.apply(writes);
  let at = 0;
  for (const request of requests) {
    const count = countWrites(request.ops);
    const mine = results.slice(at, at + count);
    at += count;
    const failed = mine.some((result) => result instanceof Error);
    reply({
      seq: request.seq,
      ...encodeOutcomes(mine.map((result) => (result instanceof Error ? 0 : result))),
      ...(failed && { errors: mine.map((result) => (result instanceof Error ? result.message || 'the spend write failed' : null)) }),
    });
  }
}

function countWrites(ops: readonly (string | number)[]): number {
  let count = 0;
  for (let i = 0; i < ops.length; i += ops[i] === 1 ? 3 : 2) count++;
  return count;
}

function handleOther(request: Exclude<WriterRequest, { type: 'write' }>): void {
  switch (request.type) {
    case 'expired':
      reply({ seq: request.seq, records: ledger.expired(request.nowIso, request.limit) });
      return;
    case 'sync':
      reply({ seq: request.seq });
      return;
    case 'close':
      clearInterval(checkpoint);
      db.close();
      reply({ seq: request.seq });
      port.close();
      return;
  }
}

/** Messages committed as one group at most: a backlog is worked off in bounded transactions. */
const MAX_MESSAGES_PER_GROUP = 64;

port.on('message', (first: WriterRequest) => {
  const requests: WriterRequest[] = [first];
  // Take what else is already queued, up to the first request that is not a write.
  while (requests[requests.length - 1]?.type === 'write' && requests.length < MAX_MESSAGES_PER_GROUP) {
    const next = receiveMessageOnPort(port);
    if (!next) break;
    requests.push(next.message as WriterRequest);
  }
  const writes = requests.filter((r): r is Extract<WriterRequest, { type: 'write' }> => r.type === 'write');
  const other = requests.find((r): r is Exclude<WriterRequest, { type: 'write' }> => r.type !== 'write');
  try {
    if (writes.length > 0) commitWrites(writes);
  } catch (error) {
    for (const w of writes) reply({ seq: w.seq, error: error instanceof Error ? error.message : String(error) });
  }
  if (other) {
    try {
      handleOther(other);
    } catch (error) {
      reply({ seq: other.seq, error: error instanceof Error ? error.message : String(error) });
    }
  }
});
