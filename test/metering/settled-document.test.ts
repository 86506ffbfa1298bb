import { settledDocument, type BodyOutcome } from '../../lambda/metering/metered-body';

function recorder() {
  const outcomes: BodyOutcome['kind'][] = [];
  return { outcomes, settle: async (outcome: BodyOutcome) => void outcomes.push(outcome.kind) };
}

describe('a document body', () => {
  it('yields the document once, then settles as complete, once, before the iteration ends', async () => {
    const { outcomes, settle } = recorder();
    const body = settledDocument(Buffer.from('{"ok":true}'), settle);
    const chunks: string[] = [];
    for await (const chunk of body) {
      chunks.push(Buffer.from(chunk).toString());
      expect(outcomes).toEqual([]);
    }
    expect(chunks).toEqual(['{"ok":true}']);
    expect(outcomes).toEqual(['complete']);
    // Iterating again neither repeats the document nor settles a second time.
    for await (const chunk of body) chunks.push(Buffer.from(chunk).toString());
    expect(chunks).toHaveLength(1);
    expect(outcomes).toEqual(['complete']);
  });

  it('settles as client-gone when the consumer leaves after the first chunk, and only then', async () => {
    const { outcomes, settle } = recorder();
    for await (const chunk of settledDocument(Buffer.from('{}'), settle)) {
      void chunk;
      break;
    }
    expect(outcomes).toEqual(['client-gone']);
  });

  it('waits for the settlement before the iteration ends', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const body = settledDocument(Buffer.from('{}'), () => held)[Symbol.asyncIterator]();
    await body.next();
    let ended = false;
    const end = body.next().then(() => (ended = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(ended).toBe(false);
    release();
    await end;
    expect(ended).toBe(true);
  });
});
