import { expect } from 'chai';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import aiHandler from '../../../src/queues/ai/handler.js';
import documentHandler from '../../../src/queues/document/handler.js';
import ragSyncHandler from '../../../src/queues/rag-sync/handler.js';
import { advance, newItems } from '../../../src/queues/rag-sync/cursor.js';
import { parseFeed } from '../../../src/queues/rag-sync/sources.js';
import { FIXTURES, readJsonLines, useHarness } from './harness.js';

interface SyncResult { fetched: number; new: number; flow: { queue: string; id: string } | null }
interface CollectResult { fetched: number; items: number; chunks: number; vectors: number; errors: { item: string; error: string }[]; outputs: string[] }

interface FeedItem { guid: string; title: string; date: string; html?: string; link?: string }

function rss(items: FeedItem[]): string {
  const entries = items.map((i) => `<item><guid>${i.guid}</guid><title>${i.title}</title><pubDate>${new Date(i.date).toUTCString()}</pubDate>
${i.html ? `<content:encoded><![CDATA[${i.html}]]></content:encoded>` : ''}${i.link ? `<link>${i.link}</link>` : ''}</item>`);
  return `<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Coast news</title>${entries.join('\n')}</channel></rss>`;
}

const paragraph = (topic: string) => Array.from({ length: 12 }, (_, i) => `<p>${topic} report line ${i}: the weather held and the boats went out.</p>`).join('');

describe('rag-sync queue', function () {
  this.timeout(90_000);

  describe('feeds and cursors (pure)', () => {
    it('reads RSS 2.0 and Atom items with ids, dates and content', () => {
      const items = parseFeed(rss([{ guid: 'a', title: 'A', date: '2026-01-01T00:00:00Z', html: '<p>x</p>' }]));
      expect(items).to.deep.equal([{ id: 'a', title: 'A', publishedAt: Date.parse('2026-01-01T00:00:00Z'), content: '<p>x</p>' }]);
      const atom = parseFeed(`<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>urn:1</id><title>One</title>
        <updated>2026-02-01T00:00:00Z</updated><link rel="alternate" href="http://example.test/1"/></entry></feed>`);
      expect(atom).to.deep.equal([{ id: 'urn:1', title: 'One', publishedAt: Date.parse('2026-02-01T00:00:00Z'), source: 'http://example.test/1' }]);
    });

    it('finds only what is new since the cursor, including items sharing its instant', () => {
      const at = Date.parse('2026-01-01T00:00:00Z');
      const items = [{ id: 'a', title: '', publishedAt: at }, { id: 'b', title: '', publishedAt: at }, { id: 'u', title: '', publishedAt: null }];
      const cursor = advance(undefined, [items[0]!, items[2]!]);
      expect(newItems(items, cursor).map((i) => i.id)).to.deep.equal(['b']);
      expect(newItems(items, advance(cursor, [items[1]!]))).to.deep.equal([]);
    });
  });

  describe('through a flow over document and ai', () => {
    const h = useHarness();
    let server: http.Server;
    let base = '';
    const feed: FeedItem[] = [];

    before(async () => {
      server = http.createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://x');
        if (url.pathname === '/feed.xml') {
          res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(rss(feed));
        } else if (url.pathname === '/articles/fog.html') {
          res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><body><article>${paragraph('Fog')}</article></body></html>`);
        } else {
          res.writeHead(404).end('not here');
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      feed.push(
        { guid: 'tide', title: 'Tide', date: '2026-03-01T08:00:00Z', html: paragraph('Tide') },
        { guid: 'fog', title: 'Fog', date: '2026-03-01T09:00:00Z', link: `${base}/articles/fog.html` },
        { guid: 'gone', title: 'Gone', date: '2026-03-01T10:00:00Z', link: `${base}/articles/gone.html` },
      );
      h.start('rag-sync', ragSyncHandler);
      h.start('document', documentHandler, { concurrency: 2 });
      h.start('ai', aiHandler, { concurrency: 2 });
    });

    after(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    async function sync(data: Record<string, unknown>, name = 'sync'): Promise<{ sync: SyncResult; collect?: CollectResult }> {
      const { job } = await h.store.enqueue({ queue: 'rag-sync', name, data });
      const done = await h.settled('rag-sync', job.id);
      expect(done.state, JSON.stringify(done.error)).to.equal('completed');
      const result = done.result as SyncResult;
      if (!result.flow) return { sync: result };
      const parent = await h.settled('rag-sync', result.flow.id, 60_000);
      expect(parent.state, JSON.stringify(parent.error)).to.equal('completed');
      return { sync: result, collect: parent.result as CollectResult };
    }

    it('runs each new item through document then ai, counting items, chunks, vectors and per-item errors', async () => {
      const { sync: first, collect } = await sync({ source: `${base}/feed.xml`, chunkSize: 200, overlap: 40 });
      expect(first).to.include({ fetched: 3, new: 3 });
      expect(collect!.fetched).to.equal(3);
      expect(collect!.items).to.equal(3);
      expect(collect!.chunks).to.be.greaterThan(4);
      expect(collect!.vectors).to.equal(collect!.chunks);
      expect(collect!.errors).to.have.length(1);
      expect(collect!.errors[0]!.item).to.equal('gone');
      expect(collect!.errors[0]!.error).to.match(/404/);
      const written = (await Promise.all(collect!.outputs.map((file) => readJsonLines(h.file(file))))).flat();
      expect(written).to.have.length(collect!.vectors);
    });

    it('keeps a cursor in the store: a second sync finds nothing new, a later item only that one', async () => {
      const again = await sync({ source: `${base}/feed.xml` });
      expect(again.sync).to.include({ fetched: 3, new: 0 });
      expect(again.sync.flow).to.equal(null);
      feed.push({ guid: 'gulls', title: 'Gulls', date: '2026-03-02T08:00:00Z', html: paragraph('Gulls') });
      const later = await sync({ source: `${base}/feed.xml` });
      expect(later.sync).to.include({ fetched: 4, new: 1 });
      expect(later.collect).to.include({ items: 1, vectors: later.collect!.chunks });
      expect(later.collect!.errors).to.deep.equal([]);
    });

    it('keeps a tenant\'s sync its own: its flow\'s jobs are that tenant\'s, and its cursor is apart from the default tenant\'s', async () => {
      const { job } = await h.store.enqueue({ queue: 'rag-sync', name: 'sync', tenant: 'globex', data: { source: `${base}/feed.xml` } });
      const done = await h.settled('rag-sync', job.id);
      expect(done.state, JSON.stringify(done.error)).to.equal('completed');
      const result = done.result as SyncResult;
      expect(result, 'the default tenant has read this feed already; globex has not').to.include({ new: 4 });
      const parent = await h.settled('rag-sync', result.flow!.id, 60_000);
      expect(parent.tenant).to.equal('globex');
      expect(await h.store.get('rag-sync', result.flow!.id, 'acme'), 'another tenant does not see the flow').to.equal(undefined);
      const children = await h.store.list({ queue: 'document', tenant: 'globex', limit: 100, offset: 0 });
      expect(children.length).to.equal(4);
      expect(new Set(children.map((c) => c.tenant))).to.deep.equal(new Set(['globex']));
    });

    it('syncs a local folder of documents', async () => {
      const folder = path.join(h.scratch, 'library');
      await fs.mkdir(folder, { recursive: true });
      for (const name of ['lighthouse.pdf', 'orchard.docx', 'harbour.html']) await fs.copyFile(path.join(FIXTURES, name), path.join(folder, name));
      await fs.writeFile(path.join(folder, 'ignored.bin'), 'not a document');
      const { sync: result, collect } = await sync({ source: folder });
      expect(result).to.include({ fetched: 3, new: 3 });
      expect(collect).to.include({ items: 3 });
      expect(collect!.errors).to.deep.equal([]);
      expect(collect!.vectors).to.equal(collect!.chunks).and.to.be.at.least(3);
    });

    it('news-fetch syncs several feeds in one flow, reporting a feed that fails without losing the others', async () => {
      const feeds = [`${base}/feed.xml`, `${base}/feed.xml?copy=2`, `${base}/missing.xml`];
      const { sync: result, collect } = await sync({ feeds }, 'news-fetch');
      expect(result).to.include({ fetched: 8, new: 4 }); // the first feed's cursor is already past all four items
      expect(collect).to.include({ items: 4 });
      expect(collect!.errors.map((e) => e.item)).to.have.members(['gone', `${base}/missing.xml`]);
    });
  });
});
