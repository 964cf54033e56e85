// Getting a document's bytes and knowing its format: a local path or an
// http(s) URL, the format from the caller, the extension, the content type, or
// the first bytes.
import fs from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError } from '../../lib/errors.js';
import type { DOCUMENT_FORMATS } from './schema.js';

export type DocumentFormat = (typeof DOCUMENT_FORMATS)[number];

export interface Loaded {
  bytes: Buffer;
  format: DocumentFormat;
}

const MAX_BYTES = 50 * 1024 * 1024;

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

async function fetchBytes(url: string, signal: AbortSignal): Promise<{ bytes: Buffer; type: string | null }> {
  const response = await fetch(url, { signal, redirect: 'follow' });
  if (!response.ok) {
    const message = `GET ${url}: HTTP ${response.status}`;
    // A 4xx will answer the same on retry; a 5xx or 429 may not.
    if (response.status >= 400 && response.status < 500 && response.status !== 429) throw new UnrecoverableError(message);
    throw new Error(message);
  }
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > MAX_BYTES) throw new UnrecoverableError(`GET ${url}: ${length} bytes is over the ${MAX_BYTES}-byte limit`);
  const bytes = Buffer.from(await response.arrayBuffer());
  if (bytes.length > MAX_BYTES) throw new UnrecoverableError(`GET ${url}: over the ${MAX_BYTES}-byte limit`);
  return { bytes, type: response.headers.get('content-type') };
}

async function readFile(file: string): Promise<Buffer> {
  try {
    const stat = await fs.stat(file);
    if (stat.size > MAX_BYTES) throw new UnrecoverableError(`${file}: ${stat.size} bytes is over the ${MAX_BYTES}-byte limit`);
    return await fs.readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new UnrecoverableError(`${file}: no such file`);
    throw error;
  }
}

export async function load(source: string, format: DocumentFormat | undefined, signal: AbortSignal): Promise<Loaded> {
  if (/^https?:\/\//i.test(source)) {
    const { bytes, type } = await fetchBytes(source, signal);
    const extension = path.extname(new URL(source).pathname).toLowerCase();
    return { bytes, format: format ?? BY_EXTENSION[extension] ?? byContentType(type) ?? byMagic(bytes) };
  }
  const bytes = await readFile(source);
  return { bytes, format: format ?? BY_EXTENSION[path.extname(source).toLowerCase()] ?? byMagic(bytes) };
}
