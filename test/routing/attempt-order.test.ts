import { attemptOrder } from '../../lambda/routing/attempt-order';

interface Member {
  readonly name: string;
  readonly member: { readonly priority: number; readonly weight: number };
}

function member(name: string, priority: number, weight: number): Member {
  return { name, member: { priority, weight } };
}

/** `count` draws spread evenly over [0, 1): each value stands for an equal slice of all possible draws. */
function evenDraws(count: number): () => number {
  let next = 0;
  return () => (next++ % count + 0.5) / count;
}

const names = (order: readonly Member[]): string[] => order.map((candidate) => candidate.name);

describe('attemptOrder', () => {
  it('tries higher priority first, and members of weight 0 only after every weighted member of every priority', () => {
    // GIVEN a fallback listed first, two priorities, and a weight-0 member in the higher one
    const candidates = [member('spare', 0, 0), member('low', 0, 1), member('high', 5, 1), member('high-spare', 5, 0)];

    // WHEN
    const order = attemptOrder(candidates, () => 0.5);

    // THEN weighted by priority, then the weight-0 members by priority
    expect(names(order)).toEqual(['high', 'low', 'high-spare', 'spare']);
  });

  it('draws the first member among equal priorities in proportion to the weights, exactly over evenly spread draws', () => {
    // GIVEN weights 3 : 1 : 1 at one priority
    const candidates = [member('a', 0, 3), member('b', 0, 1), member('c', 0, 1)];
    const draws = 1_000;
    const random = evenDraws(draws);

    // WHEN each draw orders the members once (the draws after the first pick do not matter here)
    const first = new Map<string, number>();
    for (let i = 0; i < draws; i++) {
      const values = [random()];
      const order = attemptOrder(candidates, () => values.shift() ?? 0);
      first.set(order[0]!.name, (first.get(order[0]!.name) ?? 0) + 1);
    }

    // THEN 3/5, 1/5, 1/5 of them
    expect(Object.fromEntries(first)).toEqual({ a: 600, b: 200, c: 200 });
  });

  it('holds the weights with Math.random, within 7 standard deviations over 100,000 orders (a miss about once in 10^11 runs)', () => {
    const candidates = [member('a', 0, 3), member('b', 0, 1)];

    let first = 0;
    for (let i = 0; i < 100_000; i++) if (attemptOrder(candidates, Math.random)[0]!.name === 'a') first++;

    // 75,000 ± 7 × √(100,000 × 0.75 × 0.25) ≈ 75,000 ± 959
    expect(Math.abs(first - 75_000)).toBeLessThanOrEqual(959);
  });

  it('orders the rest of an equal-priority group by weight among those left, and tries every member once', () => {
    const candidates = [member('a', 0, 2), member('b', 0, 1), member('c', 0, 1)];

    // a draw in a's share (2 of 4), then one in c's share of b + c
    const draws = [0.1, 0.9];
    const order = attemptOrder(candidates, () => draws.shift() ?? 0);

    expect(names(order)).toEqual(['a', 'c', 'b']);
  });

  it('keeps a lone member, or all-zero weights, in the route’s order without drawing', () => {
    const random = jest.fn(() => 0.5);

    expect(names(attemptOrder([member('only', 0, 1)], random))).toEqual(['only']);
    expect(names(attemptOrder([member('x', 0, 0), member('y', 0, 0)], random))).toEqual(['x', 'y']);
    expect(random).not.toHaveBeenCalled();
  });

  it('never picks past the group, whatever a draw at the edge of [0, 1) and rounding leave', () => {
    const candidates = [member('a', 0, 0.1), member('b', 0, 0.2), member('c', 0, 0.3)];

    const order = attemptOrder(candidates, () => 0.9999999999999999);

    expect(names(order).sort()).toEqual(['a', 'b', 'c']);
    expect(order[0]!.name).toBe('c');
  });
});
