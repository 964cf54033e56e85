// Job ids are UUIDv7: they sort by creation time, and within one millisecond
// by a per-process counter, so "newest first" has an order even when two jobs
// share a timestamp. A dedup hit is told by BullMQ returning another id.
import { randomFillSync } from 'node:crypto';

let lastMs = 0;
let sequence = 0;

/** Random bytes drawn a pool at a time: one call into the CSPRNG per 512 ids, not one per id (a bulk enqueue makes a thousand). */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

function randomInto(target: Buffer, at: number, length: number): void {
  if (poolOffset + length > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    poolOffset = 0;
  }
  pool.copy(target, at, poolOffset, poolOffset + length);
  poolOffset += length;
}

export function newJobId(now = Date.now()): string {
  if (now <= lastMs) {
    sequence = (sequence + 1) & 0xfff;
    if (sequence === 0) lastMs++; // 4096 ids in one millisecond: borrow the next one
    now = lastMs;
  } else {
    lastMs = now;
    sequence = 0;
  }
  const bytes = Buffer.allocUnsafe(16);
  randomInto(bytes, 8, 8);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
