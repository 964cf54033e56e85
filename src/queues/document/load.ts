// Getting a document's bytes and knowing its format: a file under the input
// roots or an http(s) URL, both through the input gate (src/queues/io), the
// format from the caller, the extension, the content type, or the first bytes.
import path from 'node:path';
import { readInput } from '../io/inputs.js';
import { fetchUrl, isHttpUrl } from '../io/url-guard.js';
import type { DOCUMENT_FORMATS } from './schema.js';

export type DocumentFormat = (typeof DOCUMENT_FORMATS)[number];

export interface Loaded {
  bytes: Buffer;
  format: DocumentFormat;
}

const BY_EXTENSION: Record<string, DocumentFormat> = {
  '.pdf': 'pdf', '.docx': 'docx', '.html': 'html', '.htm': 'html', '.md': 'markdown', '.markdown': 'markdown', '.txt': 'text',
};

function byContentType(type: string | null): DocumentFormat | undefined {
  if (!type) return undefined;
  if (type.includes('pdf')) return 'pdf';
  if (type.includes('wordprocessingml')) return 'docx';
  if (type.includes('html') || type.includes('xml')) return 'html';
  if (type.includes('markdown')) return 'markdown';
  if (type.startsWith('text/')) return 'text';
  return undefined;
}

function byMagic(bytes: Buffer): DocumentFormat {
  if (bytes.subarray(0, 5).toString('latin1') === '%PDF-') return 'pdf';
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return 'docx'; // a zip: of the formats we read, only DOCX is one
  if (/^\s*<(!doctype html|html|head|body)/i.test(bytes.subarray(0, 512).toString('utf8'))) return 'html';
  return 'text';
}

export async function load(source: string, format: DocumentFormat | undefined, signal: AbortSignal): Promise<Loaded> {
  if (isHttpUrl(source)) {
    const { bytes, contentType, url } = await fetchUrl(source, { signal });
    const extension = path.extname(url.pathname).toLowerCase();
    return { bytes, format: format ?? BY_EXTENSION[extension] ?? byContentType(contentType) ?? byMagic(bytes) };
  }
  const bytes = await readInput(source, signal);
  return { bytes, format: format ?? BY_EXTENSION[path.extname(source).toLowerCase()] ?? byMagic(bytes) };
}
