import { HEAP_GROWING_PERCENT, heapGrowthFlag } from '../../lambda/app/heap-growth';

describe('heapGrowthFlag', () => {
  const ours = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;

  it('bounds heap growth when the operator has not chosen a bound', () => {
    expect(heapGrowthFlag([])).toBe(ours);
    expect(heapGrowthFlag(['--enable-source-maps', '--max-old-space-size=512'])).toBe(ours);
  });

  it("leaves an operator's own bound alone, in either spelling V8 accepts", () => {
    expect(heapGrowthFlag(['--heap-growing-percent=50'])).toBeUndefined();
    expect(heapGrowthFlag(['--enable-source-maps', '--heap_growing_percent=0'])).toBeUndefined();
  });

  it('is not fooled by flags that merely start the same way', () => {
    expect(heapGrowthFlag(['--heap-growing-percentage=3', '--heap-growing-percent'])).toBe(ours);
  });
});
