import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serializeReservation } from '../../lambda/store/counters';
import { NOT_HELD, RESERVED, SETTLED } from '../../lambda/store/sqlite-ledger';
import { threadWriter } from '../../lambda/store/sqlite-writer';

/** The spend writer thread's own failure path; the store contract covers what it writes. */
describe('sqlite spend writer thread', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-writer-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('fails the writes of a thread that died, and the next write starts a new thread', async () => {
    // GIVEN a writer whose file cannot be opened yet: its directory does not exist
    const writer = threadWriter(join(dir, 'later', 'tollgate.db'));
    const record = serializeReservation({
      id: 'r1',
      at: new Date('2026-11-27T10:00:00Z'),
      scopes: [{ kind: 'key', id: 'k1' }],
      claims: [],
      estimateNanos: 5,
      expiresAt: new Date('2026-11-27T10:20:00Z'),
    });

    // WHEN a reservation is written, the thread dies opening the file: the write fails, saying so
    await expect(writer.write({ kind: 'reserve', record })).rejects.toThrow(/spend writer thread/);

    // THEN once the file can be opened, the next writes go through a new thread
    mkdirSync(join(dir, 'later'));
    expect(await writer.write({ kind: 'reserve', record })).toBe(RESERVED);
    expect(await writer.write({ kind: 'settle', id: 'r1', actualNanos: 3 })).toBe(SETTLED);
    expect(await writer.write({ kind: 'settle', id: 'r1', actualNanos: 3 })).toBe(NOT_HELD);
    await writer.close();
  });

  it('answers a read of expired reservations and closes cleanly, twice', async () => {
    const writer = threadWriter(join(dir, 'tollgate.db'));
    expect(await writer.expired('2100-01-01T00:00:00.000Z', 10)).toEqual([]);
    await writer.caughtUp();
    await writer.close();
    // Closing twice, or with no thread, is a no-op.
    await writer.close();
  });
});
