/**
 * Slow and greedy clients: headers and bodies sent a byte at a time must be cut off by the server's
 * timeouts (configured short through the server factory), and hundreds of idle connections must not
 * starve a normal request. Every wait is bounded; every socket is destroyed.
 */
import { connect, type Socket } from 'node:net';
import { AreaRecord } from './support/area-record';
import {
  cacheGet,
  cachePut,
  dataDirIn,
  serverOptionNames,
  startHardeningServer,
  supportedOptions,
  type HardeningServer,
} from './support/hardening-server';
import { createSandbox, filesUnder, type Sandbox } from './support/sandbox';

const record = new AreaRecord('Slow and greedy clients', __filename);
/** What the suite asks the server for; a client slower than this must be cut off. */
const SHORT_TIMEOUT_MS = 1_500;
/** How long a trickling client keeps going before the case counts as "not cut off". */
const TRICKLE_BOUND_MS = 12_000;
const TRICKLE_INTERVAL_MS = 150;
const IDLE_CONNECTION_COUNTS = [100, 250, 500];

let sandbox: Sandbox;
let ts: HardeningServer;
let timeoutOptions: Record<string, number> | undefined;

/** Maps "short timeouts" onto whatever the server factory calls them; undefined when it has none. */
function shortTimeoutOptions(): Record<string, number> | undefined {
  const names = serverOptionNames().filter((name) => /timeout/i.test(name));
  if (names.length === 0) return undefined;
  return Object.fromEntries(names.map((name) => [name, /keepalive/i.test(name) ? 1_000 : SHORT_TIMEOUT_MS]));
}

beforeAll(async () => {
  sandbox = createSandbox('slow');
  timeoutOptions = shortTimeoutOptions();
  // No per-address cap here: every client of this suite is 127.0.0.1; the caps have a test of their own.
  ts = await startHardeningServer(dataDirIn(sandbox.root), {
    ...(timeoutOptions ?? {}),
    ...supportedOptions({ maxConnectionsPerAddress: 0 }),
  } as object);
  record.note(
    timeoutOptions
      ? `timeout options used: ${JSON.stringify(timeoutOptions)}`
      : 'the server factory has no timeout options; slow cases ran against the defaults',
  );
});

afterAll(async () => {
  await ts?.stop();
  sandbox?.dispose();
  record.flush();
});

interface TrickleResult {
  cutOff: boolean;
  status: number | null;
  bytesSent: number;
}

/** Sends `head` then `body` one byte per interval until the server ends the connection or the bound runs out. */
function trickle(head: string, trickled: Buffer, port = ts.port): Promise<TrickleResult> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host: '127.0.0.1', port });
    let sent = 0;
    let received = '';
    let timer: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => finish(false), TRICKLE_BOUND_MS);
    const finish = (cutOff: boolean): void => {
      clearTimeout(giveUp);
      clearInterval(timer);
      socket.destroy();
      const match = /^HTTP\/1\.1 (\d{3})/.exec(received);
      resolve({ cutOff, status: match ? Number(match[1]) : null, bytesSent: sent });
    };
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.once('connect', () => {
      socket.write(head);
      timer = setInterval(() => {
        if (sent >= trickled.length) return;
        socket.write(trickled.subarray(sent, sent + 1));
        sent += 1;
      }, TRICKLE_INTERVAL_MS);
    });
  });
}

function cutOffReason(result: TrickleResult): string | undefined {
  if (result.cutOff && (result.status === null || result.status === 408 || result.status === 400)) return undefined;
  const why = timeoutOptions ? '' : ' (the server factory has no timeout options yet)';
  return result.cutOff
    ? `ended with status ${result.status}`
    : `still connected after ${TRICKLE_BOUND_MS} ms and ${result.bytesSent} bytes${why}`;
}

test('slow headers and slow bodies are cut off', async () => {
  const since = record.failures.length;
  const auth = `Authorization: Bearer ${ts.writeToken}\r\n`;
  const longHeaders = Buffer.from(`X-Slow: ${'s'.repeat(400)}\r\n\r\n`);
  const cases: { name: string; head: string; trickled: Buffer; hash?: string }[] = [
    {
      name: 'slow headers on GET',
      head: 'GET /v1/cache/slow-get HTTP/1.1\r\nHost: 127.0.0.1\r\n',
      trickled: longHeaders,
    },
    { name: 'slow request line', head: 'G', trickled: Buffer.from(`ET /v1/cache/${'x'.repeat(120)} HTTP/1.1\r\n\r\n`) },
    {
      name: 'slow headers on PUT',
      head: `PUT /v1/cache/slow-put-h HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Content-Length: 4\r\n`,
      trickled: longHeaders,
      hash: 'slow-put-h',
    },
    {
      name: 'slow body on PUT',
      head: `PUT /v1/cache/slow-body HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Content-Length: 100000\r\n\r\n`,
      trickled: Buffer.alloc(100_000, 1),
      hash: 'slow-body',
    },
    {
      name: 'slow body on the admin API',
      head: `POST /api/v1/orgs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ts.adminToken}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n`,
      trickled: Buffer.from(`{"name":"${'o'.repeat(4980)}"}`),
    },
  ];
  const results = await Promise.all(cases.map((c) => trickle(c.head, c.trickled)));
  for (const [i, c] of cases.entries()) {
    await record.check(c.name, async () => {
      const reason = cutOffReason(results[i] as TrickleResult);
      if (reason) return reason;
      if (c.hash && (await cacheGet(ts.url, c.hash, ts.writeToken)).status !== 404) return 'an entry was committed';
      return undefined;
    });
  }
  await record.check('nothing left in tmp/ after cut-off uploads', async () => {
    for (let attempt = 0; attempt < 30 && filesUnder(`${ts.dataDir}/tmp`).length > 0; attempt += 1)
      await new Promise((r) => setTimeout(r, 100));
    const left = filesUnder(`${ts.dataDir}/tmp`);
    return left.length ? `left in tmp/: ${left.join(', ')}` : undefined;
  });
  expect(record.describeFailures(since)).toEqual([]);
});

/** Opens `count` connections that never finish a request; half send nothing, half a partial head. */
async function openIdle(count: number, port = ts.port): Promise<Socket[]> {
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise<Socket>((resolve) => {
          const socket = connect({ host: '127.0.0.1', port });
          socket.on('error', () => undefined);
          socket.once('connect', () => {
            if (i % 2 === 1) socket.write('GET /v1/cache/idle HTTP/1.1\r\nHost: 127.0.0.1\r\n');
            resolve(socket);
          });
          setTimeout(() => resolve(socket), 5_000).unref();
        }),
    ),
  );
  return sockets;
}

test('many idle connections do not starve a normal request', async () => {
  const since = record.failures.length;
  for (const count of IDLE_CONNECTION_COUNTS) {
    const idle = await openIdle(count);
    try {
      await record.check(`${count} idle connections, then a normal PUT and GET`, async () => {
        const hash = `beside-idle-${count}`;
        const body = Buffer.from(`normal request beside ${count} idle connections`);
        const answered = await Promise.race([
          (async () => {
            const put = await cachePut(ts.url, hash, body, ts.writeToken);
            const get = await cacheGet(ts.url, hash, ts.writeToken);
            return put === 200 && get.status === 200 && get.body.equals(body)
              ? undefined
              : `PUT ${put}, GET ${get.status}`;
          })(),
          new Promise<string>((resolve) => setTimeout(() => resolve('no answer within 10 s'), 10_000).unref()),
        ]);
        return answered;
      });
    } finally {
      idle.forEach((socket) => socket.destroy());
    }
  }
  expect(record.describeFailures(since)).toEqual([]);
});

test('a body below the minimum rate is cut off even while the timeouts are long', async () => {
  const since = record.failures.length;
  const rateOptions = supportedOptions({
    minBodyRate: 2000,
    bodyRateWindow: 500,
    bodyRateGrace: 200,
    requestTimeout: 120_000,
    idleTimeout: 120_000,
    headersTimeout: 60_000,
  });
  const slowServer = await startHardeningServer(sandbox.dir('body-rate-data'), rateOptions);
  try {
    const head = `PUT /v1/cache/below-rate HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${slowServer.writeToken}\r\nContent-Length: 100000\r\n\r\n`;
    // One byte per 150 ms keeps every idle timer alive; only a minimum rate ends it.
    const result = await trickle(head, Buffer.alloc(100_000, 1), slowServer.port);
    await record.check('cache PUT trickled at ~7 bytes/s (minimum 2000 bytes/s, timeouts 2 minutes)', async () => {
      const reason = cutOffReason(result);
      if (reason)
        return `${reason}${'minBodyRate' in rateOptions ? '' : ' (the server factory has no minimum body rate option)'}`;
      return (await cacheGet(slowServer.url, 'below-rate', slowServer.writeToken)).status === 404
        ? undefined
        : 'an entry was committed';
    });
  } finally {
    await slowServer.stop();
  }
  expect(record.describeFailures(since)).toEqual([]);
});

/** PUT then GET over one raw connection each, from a chosen local address (127.0.0.2 is another client on loopback). */
function rawRoundTrip(port: number, localAddress: string, request: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    let received = '';
    const done = (): void => {
      clearTimeout(giveUp);
      socket.destroy();
      resolve(received);
    };
    const giveUp = setTimeout(done, 10_000);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('close', done);
    socket.on('error', () => undefined);
    socket.once('connect', () => socket.write(request));
  });
}

test('one address holding many connections meets its cap, and another address is still served', async () => {
  const since = record.failures.length;
  const capped = await startHardeningServer(
    sandbox.dir('connection-cap-data'),
    supportedOptions({ maxConnectionsPerAddress: 50, maxConnections: 1000 }),
  );
  const idle = await openIdle(500, capped.port);
  try {
    // Give the server a moment to close what is over the cap.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const open = idle.filter((socket) => !socket.destroyed && socket.readyState === 'open').length;
    await record.check('500 idle connections from 127.0.0.1 with a per-address cap of 50: the rest are closed', () =>
      open <= 50 ? undefined : `${open} are still open`,
    );
    await record.check('a client at 127.0.0.2 stores and reads beside them', async () => {
      const body = 'served beside a greedy neighbour';
      const auth = `Authorization: Bearer ${capped.writeToken}`;
      const put = await rawRoundTrip(
        capped.port,
        '127.0.0.2',
        `PUT /v1/cache/beside-greedy HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
      const get = await rawRoundTrip(
        capped.port,
        '127.0.0.2',
        `GET /v1/cache/beside-greedy HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}\r\nConnection: close\r\n\r\n`,
      );
      return put.startsWith('HTTP/1.1 200') && get.startsWith('HTTP/1.1 200') && get.endsWith(body)
        ? undefined
        : `PUT ${put.slice(0, 15)}, GET ${get.slice(0, 15)}`;
    });
  } finally {
    idle.forEach((socket) => socket.destroy());
    await capped.stop();
  }
  expect(record.describeFailures(since)).toEqual([]);
});
