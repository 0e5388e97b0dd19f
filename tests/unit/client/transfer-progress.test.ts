import { transferProgress } from '../../../src/client/transfer-progress';
import { LOG_CADENCE, TERMINAL_CADENCE, announceLongWait, waitCadence } from '../../../src/progress-line';

const MiB = 1024 * 1024;

describe('transfer progress lines', () => {
  let lines: string[];
  const start = () => transferProgress((line) => lines.push(line), { firstAfterMs: 5_000, everyMs: 5_000 });
  // Fake timers move Date.now with them, so the elapsed seconds in the lines are the timers' own.
  const elapse = (ms: number): void => {
    jest.advanceTimersByTime(ms);
  };

  beforeEach(() => {
    jest.useFakeTimers();
    lines = [];
  });
  afterEach(() => jest.useRealTimers());

  it('says nothing about a transfer shorter than the first wait', () => {
    const tracker = start()('download', 'h1');
    tracker.add(50 * MiB);
    elapse(4_999);
    tracker.end('done');
    elapse(20_000);
    expect(lines).toEqual([]);
  });

  it('prints bytes so far and the rate while a long download runs, then how long it took', () => {
    const tracker = start()('download', '12345678901234567890');
    tracker.add(100 * MiB);
    elapse(5_000);
    tracker.add(100 * MiB);
    elapse(5_000);
    tracker.add(86 * MiB);
    elapse(2_000);
    tracker.end('done');
    elapse(30_000);
    expect(lines).toEqual([
      'nx-sealed-cache: downloading 12345678901234567890: 100.0 MiB after 5 s, 20.0 MiB/s',
      'nx-sealed-cache: downloading 12345678901234567890: 200.0 MiB after 10 s, 20.0 MiB/s',
      'nx-sealed-cache: downloaded 12345678901234567890: 286.0 MiB in 12 s',
    ]);
  });

  it('shows the share of an upload, and a transfer that failed after a line says where it stopped', () => {
    const tracker = start()('upload', 'h2', 200 * MiB);
    tracker.add(50 * MiB);
    elapse(5_000);
    tracker.end('failed');
    tracker.end('done');
    expect(lines).toEqual([
      'nx-sealed-cache: uploading h2: 50.0 MiB of 200.0 MiB (25%) after 5 s, 10.0 MiB/s',
      'nx-sealed-cache: upload of h2 stopped after 50.0 MiB (5 s)',
    ]);
  });

  it('a stalled transfer still says it is waiting', () => {
    start()('download', 'h3');
    elapse(15_000);
    expect(lines).toEqual([
      'nx-sealed-cache: downloading h3: 0 B after 5 s, 0 B/s',
      'nx-sealed-cache: downloading h3: 0 B after 10 s, 0 B/s',
      'nx-sealed-cache: downloading h3: 0 B after 15 s, 0 B/s',
    ]);
  });
});

describe('how often a wait speaks', () => {
  it('every 5 s on a terminal, every 30 s in a CI log or without a terminal', () => {
    expect(waitCadence(true, {})).toEqual(TERMINAL_CADENCE);
    expect(TERMINAL_CADENCE).toEqual({ firstAfterMs: 5_000, everyMs: 5_000 });
    expect(waitCadence(true, { CI: 'true' })).toEqual(LOG_CADENCE);
    expect(waitCadence(false, {})).toEqual(LOG_CADENCE);
    expect(LOG_CADENCE).toEqual({ firstAfterMs: 30_000, everyMs: 30_000 });
  });
});

describe('a long wait for one answer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('says it is still running at the cadence until the answer comes, and nothing after', async () => {
    const lines: string[] = [];
    let answer: (value: string) => void = () => undefined;
    const waited = announceLongWait(
      new Promise<string>((resolve) => (answer = resolve)),
      (line) => lines.push(line),
      'retention run on the server',
      { firstAfterMs: 5_000, everyMs: 5_000 },
    );
    jest.advanceTimersByTime(4_999);
    expect(lines).toEqual([]);
    jest.advanceTimersByTime(10_001);
    answer('done');
    await expect(waited).resolves.toBe('done');
    jest.advanceTimersByTime(60_000);
    expect(lines).toEqual([
      'retention run on the server: still running (5 s)\n',
      'retention run on the server: still running (10 s)\n',
      'retention run on the server: still running (15 s)\n',
    ]);
  });

  it('stops on a failure too, and passes the failure on', async () => {
    const lines: string[] = [];
    const failure = new Error('refused');
    await expect(
      announceLongWait(Promise.reject(failure), (line) => lines.push(line), 'x', TERMINAL_CADENCE),
    ).rejects.toBe(failure);
    jest.advanceTimersByTime(60_000);
    expect(lines).toEqual([]);
  });
});
