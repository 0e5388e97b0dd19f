/**
 * Raw HTTP/1.1 over node:net, for requests undici refuses to send (bad framing, NUL bytes, duplicate
 * lengths). Every exchange is bounded in time; the socket is always destroyed at the end.
 */
import { connect, type Socket } from 'node:net';

export type RawStep = Buffer | string | { pauseMs: number } | { endWrite: true };

export interface RawResponse {
  /** The status of the first response line, or null when none arrived. */
  status: number | null;
  /** Every byte received, for checks that look at headers and bodies. */
  received: Buffer;
  /** The server closed the connection (as opposed to our time limit ending it). */
  closedByServer: boolean;
  /** The write side failed (reset or closed while we were still sending). */
  writeFailed: boolean;
}

export interface RawOptions {
  /** Give up waiting for more bytes after this long (default 1500 ms). */
  idleMs?: number;
  /** Stop once the first response is complete instead of waiting for the server to close. */
  stopAfterFirstResponse?: boolean;
}

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})/;

export function rawExchange(port: number, steps: RawStep[], options: RawOptions = {}): Promise<RawResponse> {
  const idleMs = options.idleMs ?? 1500;
  return new Promise((resolve) => {
    const socket: Socket = connect({ host: '127.0.0.1', port });
    const parts: Buffer[] = [];
    let closedByServer = false;
    let writeFailed = false;
    let settled = false;
    let idle: NodeJS.Timeout | undefined;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      socket.destroy();
      const received = Buffer.concat(parts);
      const match = STATUS_LINE.exec(received.subarray(0, 32).toString('latin1'));
      resolve({ status: match ? Number(match[1]) : null, received, closedByServer, writeFailed });
    };
    const armIdle = (): void => {
      clearTimeout(idle);
      idle = setTimeout(finish, idleMs);
    };
    socket.on('data', (chunk: Buffer) => {
      parts.push(chunk);
      if (options.stopAfterFirstResponse && firstResponseComplete(Buffer.concat(parts))) return finish();
      armIdle();
    });
    socket.on('end', () => {
      closedByServer = true;
      finish();
    });
    socket.on('close', finish);
    socket.on('error', () => {
      writeFailed = true;
      closedByServer = true;
      finish();
    });
    socket.once('connect', () => void sendSteps(socket, steps).then(armIdle, () => (writeFailed = true)));
  });
}

async function sendSteps(socket: Socket, steps: RawStep[]): Promise<void> {
  for (const step of steps) {
    if (socket.destroyed) return;
    if (typeof step === 'string' || Buffer.isBuffer(step)) {
      await new Promise<void>((resolve) => socket.write(step, () => resolve()));
    } else if ('pauseMs' in step) {
      await new Promise((resolve) => setTimeout(resolve, step.pauseMs));
    } else {
      socket.end();
    }
  }
}

/** True when a whole response (headers plus Content-Length bytes) is in `data`. */
function firstResponseComplete(data: Buffer): boolean {
  const headerEnd = data.indexOf('\r\n\r\n');
  if (headerEnd < 0) return false;
  const head = data.subarray(0, headerEnd).toString('latin1');
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  return length ? data.length >= headerEnd + 4 + Number(length[1]) : false;
}

/** Builds a request head from lines, with the blank line that ends it. */
export function requestHead(requestLine: string, headers: string[]): string {
  return `${[requestLine, ...headers].join('\r\n')}\r\n\r\n`;
}
