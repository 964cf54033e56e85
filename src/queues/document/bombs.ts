// Decompression caps, checked before a parser sees the bytes: a DOCX is a zip
// whose entries mammoth inflates whole, a PDF holds Flate streams pdf.js
// inflates whole, and either can expand a thousandfold. Both are measured here
// by inflating with node's own cap (maxOutputLength), so a size a zip header
// lies about is caught too.
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { UnrecoverableError } from '../../lib/errors.js';

const inflateRaw = promisify(zlib.inflateRaw) as (data: Buffer, options: zlib.ZlibOptions) => Promise<Buffer>;
const inflate = promisify(zlib.inflate) as (data: Buffer, options: zlib.ZlibOptions) => Promise<Buffer>;

/** Above this size, an entry compressed more than MAX_RATIO times is a bomb, not a document. */
const RATIO_FLOOR_BYTES = 1 << 20;
const MAX_RATIO = 200;

interface ZipEntry {
  method: number;
  compressed: number;
  size: number;
  localOffset: number;
}

const unreadable = () => new UnrecoverableError('not a readable DOCX');
const tooBig = (limit: number) => new UnrecoverableError(`the DOCX expands past the ${limit}-byte limit (JOBVISOR_MAX_UNZIPPED_BYTES)`);

/** The central directory's entries; ZIP64 (over 4 GB or 65,535 entries) is not a DOCX we read. */
function zipEntries(zip: Buffer): ZipEntry[] {
  let end = -1;
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 0xffff); at--) {
    if (zip.readUInt32LE(at) === 0x06054b50) {
      end = at;
      break;
    }
  }
  if (end < 0) throw unreadable();
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  if (count === 0xffff || at === 0xffffffff) throw unreadable();
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (at + 46 > zip.length || zip.readUInt32LE(at) !== 0x02014b50) throw unreadable();
    entries.push({ method: zip.readUInt16LE(at + 10), compressed: zip.readUInt32LE(at + 20), size: zip.readUInt32LE(at + 24), localOffset: zip.readUInt32LE(at + 42) });
    at += 46 + zip.readUInt16LE(at + 28) + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return entries;
}

function entryData(zip: Buffer, entry: ZipEntry): Buffer {
  const at = entry.localOffset;
  if (at + 30 > zip.length || zip.readUInt32LE(at) !== 0x04034b50) throw unreadable();
  const start = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
  if (start + entry.compressed > zip.length) throw unreadable();
  return zip.subarray(start, start + entry.compressed);
}

/** Refuses a DOCX whose entries, together, expand past `limit` bytes, or one that is mostly air. */
export async function checkDocx(zip: Buffer, limit: number): Promise<void> {
  const entries = zipEntries(zip);
  let total = 0;
  for (const entry of entries) {
    total += entry.size;
    if (total > limit) throw tooBig(limit);
    if (entry.size > RATIO_FLOOR_BYTES && entry.size / Math.max(1, entry.compressed) > MAX_RATIO) {
      throw new UnrecoverableError(`the DOCX has an entry compressed more than ${MAX_RATIO} to 1: refused as a zip bomb`);
    }
    if (entry.method === 0 && entry.size !== entry.compressed) throw unreadable();
    if (entry.method !== 8) continue;
    // The header's size may lie; inflating within it proves it.
    await inflateRaw(entryData(zip, entry), { maxOutputLength: Math.max(1, entry.size) }).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ERR_BUFFER_TOO_LARGE' ? tooBig(limit) : unreadable();
    });
  }
}

/**
 * Refuses a PDF whose Flate streams, together, expand past `limit` bytes.
 * Streams that are not Flate, or are encrypted, do not inflate and are not
 * counted: the text cap and the worker's memory limit stand behind them.
 */
export async function checkPdf(pdf: Buffer, limit: number): Promise<void> {
  let budget = limit;
  let at = 0;
  for (;;) {
    const keyword = pdf.indexOf('stream', at, 'latin1');
    if (keyword < 0) return;
    let start = keyword + 6;
    if (pdf[start] === 0x0d) start++;
    if (pdf[start] !== 0x0a || pdf.subarray(keyword - 3, keyword).toString('latin1') === 'end') {
      at = keyword + 6;
      continue;
    }
    start++;
    const end = pdf.indexOf('endstream', start, 'latin1');
    if (end < 0) return;
    const inflated = await inflate(pdf.subarray(start, end), { maxOutputLength: Math.max(1, budget) }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ERR_BUFFER_TOO_LARGE') throw new UnrecoverableError(`the PDF's streams expand past the ${limit}-byte limit (JOBVISOR_MAX_UNZIPPED_BYTES)`);
      return undefined;
    });
    budget -= inflated?.length ?? 0;
    at = end + 9;
  }
}
