/** The runner's task times: Nx's own where it set them, else when its lifecycle heard of each task starting and ending. */
import { TaskTimings } from '../../../src/runner/task-timings';

describe('TaskTimings', () => {
  it("notes startTasks and endTasks, passes every call on to Nx's lifecycle, and keeps times Nx set", async () => {
    let clock = 100;
    const timings = new TaskTimings(() => clock);
    const heard: string[] = [];
    const nxLifeCycle = {
      startTasks: (tasks: { id: string }[]) => heard.push(`start ${tasks.map((t) => t.id).join(',')}`),
      endTasks: async (results: { task: { id: string } }[]) => {
        heard.push(`end ${results.map((r) => r.task.id).join(',')}`);
        return 'done';
      },
      printTaskTerminalOutput: (task: { id: string }) => heard.push(`print ${task.id}`),
    };
    const lifeCycle = timings.listenTo(nxLifeCycle) as typeof nxLifeCycle;
    // Nx 17-19: a task that ran has a start from its cache lookup and no end; a hit has both.
    const ran = { id: 'a:build', startTime: 90 };
    const hit = { id: 'b:build', startTime: 95, endTime: 97 };
    const never = { id: 'c:build' };
    lifeCycle.startTasks([ran, hit]);
    clock = 350;
    lifeCycle.printTaskTerminalOutput(ran);
    await expect(lifeCycle.endTasks([{ task: ran }, { task: hit }])).resolves.toBe('done');
    await lifeCycle.endTasks([{ task: ran }]);
    expect(heard).toEqual(['start a:build,b:build', 'print a:build', 'end a:build,b:build', 'end a:build']);
    expect(timings.timed(ran)).toEqual({ id: 'a:build', startTime: 90, endTime: 350 });
    expect(timings.timed(hit)).toBe(hit);
    expect(timings.timed(never)).toBe(never);
    expect(timings.timed({ id: 'd:build', startTime: 'soon' })).toEqual({ id: 'd:build', startTime: 'soon' });
  });

  it('leaves a missing lifecycle as it is', () => {
    expect(new TaskTimings().listenTo(undefined)).toBeUndefined();
  });
});
