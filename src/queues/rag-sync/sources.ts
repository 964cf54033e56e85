// Items of a source: an RSS 2.0 or Atom feed (fetched, parsed with
// fast-xml-parser) or a local folder (files the document queue can read).
import fs from 'node:fs/promises';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { UnrecoverableError } from '../../lib/errors.js';

export interface SourceItem {
  /** Stable across syncs: a feed's guid or link, a file's path. */
  id: string;
  title: string;
  /** Epoch ms, or null when the source does not say. */
  publishedAt: number | null;
  /** What the document queue reads: a URL or path, or the feed's own HTML content. */
  source?: string;
  content?: string;
}

const READABLE = new Set(['.pdf', '.docx', '.html', '.htm', '.md', '.markdown', '.txt']);

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', textNodeName: '#text', cdataPropName: false as never });

type Node = Record<string, unknown> | string | undefined;

function text(node: unknown): string {
  if (node === undefined || node === null) return '';
  if (typeof node === 'string' || typeof node === 'number') return String(node);
  if (Array.isArray(node)) return text(node[0]);
  return text((node as Record<string, unknown>)['#text']);
}

function list<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function date(value: string): number | null {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

function atomLink(entry: Record<string, unknown>): string {
  const links = list(entry.link as Node | Node[]);
  const alternate = links.find((l) => typeof l === 'object' && (!l['@rel'] || l['@rel'] === 'alternate')) ?? links[0];
  return typeof alternate === 'object' ? String(alternate['@href'] ?? '') : text(alternate);
}

export function parseFeed(xml: string): SourceItem[] {
  const doc = parser.parse(xml) as Record<string, any>;
  if (doc.rss?.channel) {
    return list(doc.rss.channel.item as Record<string, unknown>[]).map((item) => {
      const link = text(item.link);
      const content = text(item['content:encoded']) || text(item.description);
      return {
        id: text(item.guid) || link || text(item.title),
        title: text(item.title),
        publishedAt: date(text(item.pubDate) || text(item['dc:date'])),
        ...(content ? { content } : link ? { source: link } : {}),
      };
    });
  }
  if (doc.feed) {
    return list(doc.feed.entry as Record<string, unknown>[]).map((entry) => {
      const link = atomLink(entry);
      const content = text(entry.content) || text(entry.summary);
      return {
        id: text(entry.id) || link,
        title: text(entry.title),
        publishedAt: date(text(entry.published) || text(entry.updated)),
        ...(content ? { content } : link ? { source: link } : {}),
      };
    });
  }
  throw new UnrecoverableError('not an RSS or Atom feed');
}

export async function fetchFeed(url: string, signal: AbortSignal): Promise<SourceItem[]> {
  const response = await fetch(url, { signal, headers: { accept: 'application/rss+xml, application/atom+xml, application/xml, text/xml' } });
  if (!response.ok) {
    const message = `GET ${url}: HTTP ${response.status}`;
    if (response.status >= 400 && response.status < 500 && response.status !== 429) throw new UnrecoverableError(message);
    throw new Error(message);
  }
  return parseFeed(await response.text());
}

export async function listFolder(folder: string): Promise<SourceItem[]> {
  const entries = await fs.readdir(folder, { recursive: true, withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new UnrecoverableError(`${folder}: no such folder`);
    throw error;
  });
  const files = entries.filter((e) => e.isFile() && READABLE.has(path.extname(e.name).toLowerCase()));
  return Promise.all(files.map(async (entry) => {
    const file = path.join(entry.parentPath, entry.name);
    const stat = await fs.stat(file);
    return { id: file, title: entry.name, publishedAt: stat.mtimeMs, source: file };
  }));
}

export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}
