// Text out of each format, as sections (a PDF's pages, one section otherwise),
// with progress reported per section. Libraries: unpdf (pdf.js), mammoth, cheerio.
import * as cheerio from 'cheerio';
import mammoth from 'mammoth';
import { getDocumentProxy } from 'unpdf';
import { UnrecoverableError } from '../../lib/errors.js';
import type { DocumentFormat } from './load.js';

export interface Extracted {
  title?: string;
  /** Pages of a PDF; one section for the other formats. */
  sections: string[];
}

type OnSection = (done: number, total: number) => Promise<void>;

async function fromPdf(bytes: Buffer, signal: AbortSignal, onSection: OnSection): Promise<Extracted> {
  const pdf = await getDocumentProxy(new Uint8Array(bytes)).catch((error: Error) => {
    throw new UnrecoverableError(`not a readable PDF: ${error.message}`);
  });
  try {
    const sections: string[] = [];
    for (let number = 1; number <= pdf.numPages; number++) {
      signal.throwIfAborted();
      const page = await pdf.getPage(number);
      const content = await page.getTextContent();
      sections.push(content.items.map((item) => ('str' in item ? item.str + (item.hasEOL ? '\n' : ' ') : '')).join(''));
      page.cleanup();
      await onSection(number, pdf.numPages);
    }
    const info = (await pdf.getMetadata().catch(() => undefined))?.info as { Title?: string } | undefined;
    return { ...(info?.Title ? { title: info.Title } : {}), sections };
  } finally {
    await pdf.destroy();
  }
}

async function fromDocx(bytes: Buffer): Promise<Extracted> {
  const result = await mammoth.extractRawText({ buffer: bytes }).catch((error: Error) => {
    throw new UnrecoverableError(`not a readable DOCX: ${error.message}`);
  });
  return { sections: [result.value] };
}

const BLOCKS = 'p, div, section, article, li, tr, br, h1, h2, h3, h4, h5, h6, blockquote, pre, table, ul, ol, dd, dt';

function fromHtml(html: string): Extracted {
  const $ = cheerio.load(html);
  $('script, style, noscript, template, svg, nav, header, footer, aside, form, iframe').remove();
  const title = $('title').first().text().trim() || $('h1').first().text().trim() || undefined;
  // Readers care about the article, not the page around it, when the page says which that is.
  const selector = ['article', 'main', 'body'].find((s) => $(s).length > 0);
  const root = selector ? $(selector).first() : $.root().children();
  root.find(BLOCKS).each((_, element) => {
    $(element).append('\n');
  });
  const text = root.text();
  return { ...(title ? { title } : {}), sections: [text] };
}

function fromMarkdown(markdown: string): Extracted {
  const title = /^#\s+(.+)$/m.exec(markdown)?.[1]?.trim();
  const text = markdown
    .replace(/^```.*$/gm, '') // fences go, the code stays
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
    .replace(/^\s{0,3}#{1,6}\s+/gm, '')
    .replace(/^\s{0,3}>\s?/gm, '')
    .replace(/^\s*[-*+]\s+/gm, '')
    .replace(/(\*\*|__)(.+?)\1/g, '$2')
    .replace(/(^|\W)[*_](\S.*?\S|\S)[*_](?=\W|$)/g, '$1$2')
    .replace(/`([^`]+)`/g, '$1');
  return { ...(title ? { title } : {}), sections: [text] };
}

export async function extract(bytes: Buffer, format: DocumentFormat, signal: AbortSignal, onSection: OnSection): Promise<Extracted> {
  let extracted: Extracted;
  switch (format) {
    case 'pdf':
      return fromPdf(bytes, signal, onSection);
    case 'docx':
      extracted = await fromDocx(bytes);
      break;
    case 'html':
      extracted = fromHtml(bytes.toString('utf8'));
      break;
    case 'markdown':
      extracted = fromMarkdown(bytes.toString('utf8'));
      break;
    case 'text':
      extracted = { sections: [bytes.toString('utf8')] };
      break;
  }
  await onSection(1, 1);
  return extracted;
}
