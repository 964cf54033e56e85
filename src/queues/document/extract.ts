// Text out of each format, as sections (a PDF's pages, one section otherwise),
// with progress reported per section. Libraries: unpdf (pdf.js), mammoth,
// cheerio. A DOCX or PDF is checked for decompression bombs first, and the
// text is capped; a parser's own error message is not passed on, since it may
// quote the file.
import * as cheerio from 'cheerio';
import mammoth from 'mammoth';
import { getDocumentProxy } from 'unpdf';
import { UnrecoverableError } from '../../lib/errors.js';
import { checkDocx, checkPdf } from './bombs.js';
import type { DocumentFormat } from './load.js';

export interface ExtractLimits {
  maxUnzippedBytes: number;
  maxTextChars: number;
}

export interface Extracted {
  title?: string;
  /** Pages of a PDF; one section for the other formats. */
  sections: string[];
}

type OnSection = (done: number, total: number) => Promise<void>;

const tooMuchText = (limit: number) => new UnrecoverableError(`the document holds more than ${limit} characters of text (JOBVISOR_MAX_TEXT_CHARS)`);

async function fromPdf(bytes: Buffer, signal: AbortSignal, onSection: OnSection, limits: ExtractLimits): Promise<Extracted> {
  await checkPdf(bytes, limits.maxUnzippedBytes);
  const pdf = await getDocumentProxy(new Uint8Array(bytes)).catch(() => {
    throw new UnrecoverableError('not a readable PDF');
  });
  try {
    const sections: string[] = [];
    let characters = 0;
    for (let number = 1; number <= pdf.numPages; number++) {
      signal.throwIfAborted();
      const page = await pdf.getPage(number);
      const content = await page.getTextContent();
      const text = content.items.map((item) => ('str' in item ? item.str + (item.hasEOL ? '\n' : ' ') : '')).join('');
      page.cleanup();
      characters += text.length;
      if (characters > limits.maxTextChars) throw tooMuchText(limits.maxTextChars);
      sections.push(text);
      await onSection(number, pdf.numPages);
    }
    const info = (await pdf.getMetadata().catch(() => undefined))?.info as { Title?: string } | undefined;
    return { ...(info?.Title ? { title: info.Title } : {}), sections };
  } finally {
    await pdf.destroy();
  }
}

async function fromDocx(bytes: Buffer, limits: ExtractLimits): Promise<Extracted> {
  await checkDocx(bytes, limits.maxUnzippedBytes);
  const result = await mammoth.extractRawText({ buffer: bytes }).catch(() => {
    throw new UnrecoverableError('not a readable DOCX');
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

export async function extract(bytes: Buffer, format: DocumentFormat, signal: AbortSignal, onSection: OnSection, limits: ExtractLimits): Promise<Extracted> {
  let extracted: Extracted;
  switch (format) {
    case 'pdf':
      return fromPdf(bytes, signal, onSection, limits);
    case 'docx':
      extracted = await fromDocx(bytes, limits);
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
  if (extracted.sections[0]!.length > limits.maxTextChars) throw tooMuchText(limits.maxTextChars);
  await onSection(1, 1);
  return extracted;
}
