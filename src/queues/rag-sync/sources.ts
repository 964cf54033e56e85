// Items of a source: an RSS 2.0 or Atom feed (fetched through the URL guard,
// capped in bytes, time and items, parsed with fast-xml-parser) or a folder
// under the input roots (files the document queue can read). A feed item's
// link becomes a document source only when it is an http(s) URL: a feed's
// publisher must not be able to name a file on this host.
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { UnrecoverableError } from '../../lib/errors.js';
import { loadInputConfig } from '../../lib/config.js';
import { listInputFolder } from '../io/inputs.js';
import { fetchUrl, isHttpUrl } from '../io/url-guard.js';

export interface SourceItem {
  /** Stable across syncs: a feed's guid or link, a file's path within its folder. */
  id: string;
  title: string;
  /** Epoch ms, or null when the source does not say. */
  publishedAt: number | null;
  /** What the document queue reads: an http(s) URL or a path under the roots, or the feed's own HTML content. */
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

/** What an item gives the document queue: its own content, else its link when that is a web URL, else nothing. */
function readable(content: string, link: string): Pick<SourceItem, 'content' | 'source'> {
  if (content) return { content };
  return isHttpUrl(link) ? { source: link } : {};
}

/** The first `maxItems` items of an RSS 2.0 or Atom feed. */
export function parseFeed(xml: string, maxItems = Number.MAX_SAFE_INTEGER): SourceItem[] {
  const doc = parser.parse(xml) as Record<string, any>;
  if (doc.rss?.channel) {
    return list(doc.rss.channel.item as Record<string, unknown>[]).slice(0, maxItems).map((item) => {
      const link = text(item.link);
      const content = text(item['content:encoded']) || text(item.description);
      return {
        id: text(item.guid) || link || text(item.title),
        title: text(item.title),
        publishedAt: date(text(item.pubDate) || text(item['dc:date'])),
        ...readable(content, link),
      };
    });
  }
  if (doc.feed) {
    return list(doc.feed.entry as Record<string, unknown>[]).slice(0, maxItems).map((entry) => {
      const link = atomLink(entry);
      const content = text(entry.content) || text(entry.summary);
      return {
        id: text(entry.id) || link,
        title: text(entry.title),
        publishedAt: date(text(entry.published) || text(entry.updated)),
        ...readable(content, link),
      };
    });
  }
  throw new UnrecoverableError('not an RSS or Atom feed');
}

export async function fetchFeed(url: string, signal: AbortSignal): Promise<SourceItem[]> {
  const settings = loadInputConfig();
  const { bytes } = await fetchUrl(url, {
    signal, settings, maxBytes: settings.maxFeedBytes, limitName: 'JOBVISOR_MAX_FEED_BYTES',
    accept: 'application/rss+xml, application/atom+xml, application/xml, text/xml',
  });
  return parseFeed(bytes.toString('utf8'), settings.maxFeedItems);
}

/** A folder's readable files, `source` joined to the folder as the job named it, so it resolves the same way again. */
export async function listFolder(folder: string): Promise<SourceItem[]> {
  const files = await listInputFolder(folder);
  return files.filter((file) => READABLE.has(path.extname(file.name).toLowerCase()))
    .map((file) => ({ id: file.name, title: path.basename(file.name), publishedAt: file.mtimeMs, source: path.join(folder, file.name) }));
}
