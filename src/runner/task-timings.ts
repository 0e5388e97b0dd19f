/**
 * When each task started and ended, as Nx's lifecycle saw it, for the run report. Nx 17–19 set a task's own
 * `startTime` and `endTime` only for cache hits (a task that ran gets a start from its cache lookup and no end);
 * their lifecycle still hears `startTasks` and `endTasks` for every task, so the runner listens there too.
 */
type Timing = { start?: number; end?: number };

const idOf = (task: unknown): string | undefined => {
  const id = (task as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : undefined;
};

export class TaskTimings {
  private readonly timings = new Map<string, Timing>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Nx's lifecycle with `startTasks` and `endTasks` noted first; anything else passes through unchanged. */
  listenTo(lifeCycle: unknown): unknown {
    if (typeof lifeCycle !== 'object' || lifeCycle === null) return lifeCycle;
    return new Proxy(lifeCycle, {
      get: (target, property, receiver) => {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function' || (property !== 'startTasks' && property !== 'endTasks')) return value;
        return (...args: unknown[]): unknown => {
          this.note(property, args[0]);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }

  /** `task` with the lifecycle's times where Nx set none of its own. */
  timed(task: unknown): unknown {
    const id = idOf(task);
    const timing = id === undefined ? undefined : this.timings.get(id);
    const t = task as { startTime?: unknown; endTime?: unknown };
    if (timing === undefined || (typeof t.startTime === 'number' && typeof t.endTime === 'number')) return task;
    return {
      ...t,
      startTime: typeof t.startTime === 'number' ? t.startTime : timing.start,
      endTime: typeof t.endTime === 'number' ? t.endTime : timing.end,
    };
  }

  private note(event: 'startTasks' | 'endTasks', items: unknown): void {
    if (!Array.isArray(items)) return;
    const now = this.now();
    for (const item of items) {
      // startTasks gets tasks, endTasks gets results ({ task, status, code }).
      const id = idOf(event === 'startTasks' ? item : (item as { task?: unknown } | null)?.task);
      if (id === undefined) continue;
      const timing = this.timings.get(id) ?? {};
      if (event === 'startTasks') timing.start ??= now;
      else timing.end ??= now;
      this.timings.set(id, timing);
    }
  }
}
