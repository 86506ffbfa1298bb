/**
 * The requests a server is still handling — each until its body is written and its spend
 * settled — so that shutting down can wait for them instead of cutting them off.
 */
export class InFlight {
  private readonly active = new Set<Promise<unknown>>();
  private waiters: (() => void)[] = [];

  get size(): number {
    return this.active.size;
  }

  /** `work` should not reject; if it does, the rejection ends here rather than crashing the process. */
  track(work: Promise<unknown>): void {
    this.active.add(work);
    const done = (): void => {
      this.active.delete(work);
      if (this.active.size > 0) return;
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    };
    work.then(done, done);
  }

  /** Resolves true once nothing is in flight, or false if `ms` pass first. */
  idle(ms: number): Promise<boolean> {
    if (this.active.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((wake) => wake !== done);
        resolve(false);
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(done);
    });
  }
}
