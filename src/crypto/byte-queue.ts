/**
 * A FIFO of byte slices that hands out exact-length runs without concatenating, so chunking a
 * stream costs no copies beyond what the cipher itself does.
 */
export class ByteQueue {
  private readonly slices: Buffer[] = [];
  private bytes = 0;

  get length(): number {
    return this.bytes;
  }

  push(data: Buffer): void {
    if (data.length === 0) return;
    this.slices.push(data);
    this.bytes += data.length;
  }

  /** Removes and returns exactly `count` bytes as a list of slices (views, not copies). */
  take(count: number): Buffer[] {
    if (count > this.bytes) throw new RangeError(`asked for ${count} bytes, ${this.bytes} queued`);
    const out: Buffer[] = [];
    let remaining = count;
    while (remaining > 0) {
      const head = this.slices[0]!;
      if (head.length <= remaining) {
        out.push(head);
        this.slices.shift();
        remaining -= head.length;
      } else {
        out.push(head.subarray(0, remaining));
        this.slices[0] = head.subarray(remaining);
        remaining = 0;
      }
    }
    this.bytes -= count;
    return out;
  }

  /** Removes and returns exactly `count` bytes as one buffer (copies only when they span slices). */
  takeContiguous(count: number): Buffer {
    const parts = this.take(count);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, count);
  }
}
