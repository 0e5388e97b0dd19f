import { PassThrough, Readable } from 'node:stream';
import { drainBody } from '../../../src/http/drain-body';

describe('drainBody', () => {
  it('reads a body to its end without keeping it and resolves true', async () => {
    let read = 0;
    const body = Readable.from([Buffer.alloc(1000), Buffer.alloc(2000)]).on('data', (c: Buffer) => (read += c.length));
    await expect(drainBody(body, 10_000)).resolves.toBe(true);
    expect(read).toBe(3000);
    expect(body.readableEnded).toBe(true);
  });

  it('stops and resolves false once more than the limit remains, leaving the rest unread', async () => {
    const body = new PassThrough();
    body.write(Buffer.alloc(600));
    body.write(Buffer.alloc(600));
    const drained = drainBody(body, 1000);
    await expect(drained).resolves.toBe(false);
    expect(body.isPaused()).toBe(true);
    expect(body.readableEnded).toBe(false);
  });

  it('resolves false when the body breaks off, true when it had already ended', async () => {
    const broken = new PassThrough();
    const drained = drainBody(broken);
    broken.destroy(new Error('connection reset'));
    await expect(drained).resolves.toBe(false);

    const ended = Readable.from([]);
    ended.resume();
    await new Promise((resolve) => ended.once('end', resolve));
    await expect(drainBody(ended)).resolves.toBe(true);
  });
});
