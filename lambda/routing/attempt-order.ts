/** What ordering reads of a route's member. */
export interface Weighted {
  readonly member: { readonly priority: number; readonly weight: number };
}

/**
 * The order in which a request tries a route's members:
 *
 * 1. higher `priority` first;
 * 2. among equal priority, a weighted random order: each next member is drawn from those left
 *    with probability `weight / (sum of their weights)`, so the first choice spreads traffic in
 *    proportion to the weights and the rest are the fallbacks in the same proportions;
 * 3. members of weight 0 last, only once every weighted member of every priority has failed:
 *    highest priority first, then in the order the route lists them.
 *
 * `random` returns a number in [0, 1), as `Math.random` does; tests pass their own.
 *
 * @example
 * // members a (priority 1), b and c (priority 0, weights 3 and 1), d (weight 0)
 * attemptOrder(candidates, Math.random); // [a, b, c, d] three times in four, [a, c, b, d] otherwise
 */
export function attemptOrder<T extends Weighted>(candidates: readonly T[], random: () => number): readonly T[] {
  // A route of one account, the most common: no draw, no copy.
  if (candidates.length <= 1) return candidates;
  const weighted = candidates.filter((candidate) => candidate.member.weight > 0);
  const priorities = [...new Set(weighted.map((candidate) => candidate.member.priority))].sort((a, b) => b - a);
  const order: T[] = [];
  for (const priority of priorities) order.push(...drawn(weighted.filter((candidate) => candidate.member.priority === priority), random));
  // `sort` is stable: equal priorities keep the route's own order.
  const fallbacks = candidates.filter((candidate) => candidate.member.weight === 0).sort((a, b) => b.member.priority - a.member.priority);
  order.push(...fallbacks);
  return order;
}

/** A weighted random permutation: each pick proportional to weight among those not yet picked. */
function drawn<T extends Weighted>(group: readonly T[], random: () => number): T[] {
  const left = [...group];
  const order: T[] = [];
  let total = left.reduce((sum, candidate) => sum + candidate.member.weight, 0);
  while (left.length > 1) {
    let point = random() * total;
    let index = 0;
    // Stops on the last member whatever rounding left of `point`.
    while (index < left.length - 1) {
      point -= (left[index] as T).member.weight;
      if (point < 0) break;
      index++;
    }
    const [picked] = left.splice(index, 1) as [T];
    order.push(picked);
    total -= picked.member.weight;
  }
  order.push(...left);
  return order;
}
