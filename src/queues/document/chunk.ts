// Normalising extracted text and splitting it into overlapping chunks. Pure
// functions: the tests call them with strings.

/** One form for every source: NFKC, plain spaces, no hyphenation across lines, at most one blank line. */
export function normalise(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/\r\n?/g, '\n')
    .replace(/[\u00a0\u2000-\u200b\u202f\u205f\u3000\t\f\v]+/g, ' ')
    .replace(/\u00ad/g, '')
    .replace(/(\p{L})-\n(\p{Ll})/gu, '$1$2')
    .split('\n').map((line) => line.replace(/ {2,}/g, ' ').trim()).join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

export interface Chunk {
  index: number;
  text: string;
  /** Offsets in the normalised text. */
  start: number;
  end: number;
}

/** Where to end a chunk: the last paragraph, sentence or word break in its last fifth, else a hard cut. */
function breakBefore(text: string, start: number, limit: number): number {
  if (limit >= text.length) return text.length;
  const floor = start + Math.floor((limit - start) * 0.8);
  for (const pattern of ['\n\n', '. ', '\n', ' ']) {
    const at = text.lastIndexOf(pattern, limit - pattern.length);
    if (at >= floor) return at + pattern.length;
  }
  return limit;
}

/**
 * Chunks of at most `size` characters; each begins `overlap` characters
 * (rounded to a word) before the last one ended. The overlap is held to half
 * the size, so every chunk moves on by at least 30% of it (a break may come at
 * 80%) and the output stays within a small multiple of the text.
 */
export function* chunk(text: string, size: number, requestedOverlap: number): Generator<Chunk> {
  const overlap = Math.min(requestedOverlap, Math.floor(size / 2));
  let start = 0;
  let index = 0;
  while (start < text.length) {
    const end = breakBefore(text, start, start + size);
    const piece = text.slice(start, end).trim();
    if (piece) yield { index: index++, text: piece, start, end };
    if (end >= text.length) break;
    let next = Math.max(start + 1, end - overlap);
    const space = text.indexOf(' ', next);
    if (overlap > 0 && space >= 0 && space < end) next = space + 1;
    start = next;
  }
}
