import { HEAP_GROWING_PERCENT, heapGrowthFlag } from '../../lambda/app/heap-growth';

describe('heapGrowthFlag', () => {
  const ours = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;

  it('bounds heap growth when the operator has not chosen a bound', () => {
    expect(heapGrowthFlag([], undefined)).toBe(ours);
    expect(heapGrowthFlag(['--enable-source-maps'], '--max-old-space-size=512')).toBe(ours);
  });

  it("leaves an operator's own bound alone, however it was given", () => {
    expect(heapGrowthFlag(['--heap-growing-percent=50'], undefined)).toBeUndefined();
    expect(heapGrowthFlag([], '--enable-source-maps --heap-growing-percent=5')).toBeUndefined();
    expect(heapGrowthFlag(['--heap_growing_percent=30'], undefined)).toBeUndefined();
    expect(heapGrowthFlag(['--heap-growing-percent', '30'], undefined)).toBeUndefined();
  });

  it('is not fooled by flags that merely start the same way', () => {
    expect(heapGrowthFlag(['--heap-growing-percentage=3'], '--no-heap-growing-percent-x')).toBe(ours);
  });
});
