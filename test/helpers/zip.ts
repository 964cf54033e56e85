// A zip written by hand, for tests that need one a library would refuse to
// make: an entry whose header states a size other than its real one.
import zlib from 'node:zlib';

export interface ZipInput {
  name: string;
  data: Buffer;
  /** The uncompressed size the headers state; the real one when left out. */
  statedSize?: number;
}

/** A zip record: its length, and the little-endian fields to set, as [offset, value, width in bytes]. */
function record(length: number, fields: [number, number, 2 | 4][]): Buffer {
  const buffer = Buffer.alloc(length);
  for (const [offset, value, width] of fields) {
    if (width === 2) buffer.writeUInt16LE(value, offset);
    else buffer.writeUInt32LE(value, offset);
  }
  return buffer;
}

export function makeZip(entries: ZipInput[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const compressed = zlib.deflateRawSync(entry.data);
    const size = entry.statedSize ?? entry.data.length;
    // Version 2.0, method 8 (deflate), sizes, name length; the central record also says where the local one is.
    const local = record(30, [[0, 0x04034b50, 4], [4, 20, 2], [8, 8, 2], [18, compressed.length, 4], [22, size, 4], [26, name.length, 2]]);
    const central = record(46, [[0, 0x02014b50, 4], [4, 20, 2], [6, 20, 2], [10, 8, 2], [20, compressed.length, 4], [24, size, 4], [28, name.length, 2], [42, offset, 4]]);
    locals.push(local, name, compressed);
    centrals.push(central, name);
    offset += local.length + name.length + compressed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = record(22, [[0, 0x06054b50, 4], [8, entries.length, 2], [10, entries.length, 2], [12, directory.length, 4], [16, offset, 4]]);
  return Buffer.concat([...locals, directory, end]);
}

/** A DOCX mammoth can open, its document holding `text` (repeat it to make a bomb). */
export function makeDocx(text: string, options: { statedSize?: number } = {}): Buffer {
  const document = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>${text}</w:t></w:r></w:p></w:body></w:document>`);
  return makeZip([
    { name: '[Content_Types].xml', data: Buffer.from('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>') },
    { name: '_rels/.rels', data: Buffer.from('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>') },
    { name: 'word/document.xml', data: document, ...(options.statedSize !== undefined ? { statedSize: options.statedSize } : {}) },
  ]);
}
