import { batchingLogger, logLine } from '../../lambda/core/log';

function collector() {
  const writes: string[] = [];
  return { writes, write: (text: string) => void writes.push(text) };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('log lines', () => {
  it('are one JSON object per line: level, event, then the fields as given, undefined ones left out', () => {
    const line = logLine('info', 'request_settled', { route: 'openai', nanos: 1250, priced: true, model: 'gpt-"4o"\n', input_tokens: undefined });
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({ level: 'info', event: 'request_settled', route: 'openai', nanos: 1250, priced: true, model: 'gpt-"4o"\n' });
    expect(Object.keys(JSON.parse(line))).toEqual(['level', 'event', 'route', 'nanos', 'priced', 'model']);
    expect(JSON.parse(logLine('error', 'x'))).toEqual({ level: 'error', event: 'x' });
    expect(JSON.parse(logLine('error', 'x', {}))).toEqual({ level: 'error', event: 'x' });
    expect(JSON.parse(logLine('info', 'x', { only: undefined }))).toEqual({ level: 'info', event: 'x' });
  });

  it('logged within one turn go out in one write when the turn ends; errors at once', async () => {
    const out = collector();
    const err = collector();
    const logger = batchingLogger(out, err);
    logger.info('a', { n: 1 });
    logger.info('b', { n: 2 });
    logger.error('c', { n: 3 });
    expect(out.writes).toEqual([]);
    expect(err.writes.map((line) => JSON.parse(line))).toEqual([{ level: 'error', event: 'c', n: 3 }]);
    await nextTurn();
    expect(out.writes).toHaveLength(1);
    expect((out.writes[0] as string).trimEnd().split('\n').map((line) => JSON.parse(line))).toEqual([
      { level: 'info', event: 'a', n: 1 },
      { level: 'info', event: 'b', n: 2 },
    ]);
    logger.info('d');
    await nextTurn();
    expect(out.writes).toHaveLength(2);
  });

  it('writes what it holds on flush (shutdown, exit), and holds no more than 64 KiB in a turn', () => {
    const out = collector();
    const logger = batchingLogger(out, collector());
    logger.info('held');
    logger.flush();
    expect(out.writes).toEqual([logLine('info', 'held')]);
    logger.flush();
    expect(out.writes).toHaveLength(1);
    const big = 'x'.repeat(1000);
    for (let i = 0; i < 100; i++) logger.info('big', { big });
    expect(out.writes.length).toBeGreaterThan(1);
    logger.flush();
    expect(out.writes.join('').trimEnd().split('\n')).toHaveLength(101);
  });
});
