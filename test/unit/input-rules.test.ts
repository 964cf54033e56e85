// The input gate's pure rules: which addresses are refused, how deep and NUL
// bodies are told, how chunking always moves on, the settings' defaults, and
// the DOCX and PDF decompression checks on hand-made files.
import { expect } from 'chai';
import path from 'node:path';
import zlib from 'node:zlib';
import { jsonShapeIssue } from '../../src/api/json-shape.js';
import { ConfigError, loadConfig, loadInputConfig } from '../../src/lib/config.js';
import { checkDocx, checkPdf } from '../../src/queues/document/bombs.js';
import { chunk } from '../../src/queues/document/chunk.js';
import { isBlockedAddress } from '../../src/queues/io/addresses.js';
import { makeDocx } from '../helpers/zip.js';

describe('input rules', () => {
  describe('blocked addresses', () => {
    const blocked = [
      '127.0.0.1', '127.255.0.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1',
      '100.100.100.200', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1',
      '::ffff:169.254.169.254', '::127.0.0.1', '64:ff9b::7f00:1', '64:ff9b::a00:1', 'fc00::1', 'fd00:ec2::254', 'fe80::1%eth0',
      'ff02::1', '2001:db8::1', '2002:7f00:1::1', '[::1]', 'localhost', '',
    ];
    const open = ['93.184.216.34', '8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '172.32.0.1', '100.128.0.1'];

    for (const address of blocked) it(`refuses ${address || '(empty)'}`, () => expect(isBlockedAddress(address)).to.equal(true));
    for (const address of open) it(`lets ${address} through`, () => expect(isBlockedAddress(address)).to.equal(false));
  });

  describe('JSON shape', () => {
    const nested = (depth: number): unknown => (depth === 0 ? 'leaf' : { a: nested(depth - 1) });

    it('names the field holding a NUL byte, in a value or a key, at any depth', () => {
      expect(jsonShapeIssue({ data: { items: ['ok', 'b\0d'] } }, 32)).to.deep.equal({ field: 'data.items.1', message: 'contains a NUL byte' });
      expect(jsonShapeIssue({ dedupKey: 'x\0' }, 32)!.field).to.equal('dedupKey');
      expect(jsonShapeIssue({ data: { 'k\0': 1 } }, 32)).to.deep.equal({ field: 'data."k\\u0000"', message: 'has a key that contains a NUL byte' });
      expect(jsonShapeIssue({ data: { fine: 'text', n: 1, none: null } }, 32)).to.equal(undefined);
    });

    it('allows exactly the configured depth and names the top field past it', () => {
      expect(jsonShapeIssue(nested(32), 32)).to.equal(undefined);
      expect(jsonShapeIssue({ data: nested(31) }, 32)).to.equal(undefined);
      expect(jsonShapeIssue({ data: nested(32) }, 32)).to.deep.include({ field: 'data' });
      expect(jsonShapeIssue({ data: nested(5000) }, 32)!.message).to.match(/deeper than 32/);
    });
  });

  describe('chunking', () => {
    it('moves on by at least 30% of the size even when asked for an overlap of size − 1', () => {
      const text = 'word '.repeat(20_000);
      const chunks = [...chunk(text, 100, 99)];
      expect(chunks.length).to.be.below(text.length / 30 + 2);
      for (let i = 1; i < chunks.length; i++) expect(chunks[i]!.start - chunks[i - 1]!.start).to.be.at.least(30);
    });
  });

  describe('settings', () => {
    it('defaults the roots to <data>/input and the output to <data>/output, and reads lists', () => {
      const settings = loadInputConfig({ JOBVISOR_DATA_DIR: '/srv/jv' });
      expect(settings.roots).to.deep.equal(['/srv/jv/input']);
      expect(settings.outputDir).to.equal('/srv/jv/output');
      expect(settings.maxFileBytes).to.equal(50 * 1024 * 1024);
      const listed = loadInputConfig({ JOBVISOR_INPUT_ROOTS: '/a, rel ', JOBVISOR_URL_ALLOWLIST: 'Feeds.Example, [::1]' });
      expect(listed.roots).to.deep.equal(['/a', path.resolve('rel')]);
      expect(listed.urlAllowlist).to.deep.equal(['feeds.example', '::1']);
    });

    it('allows the operator\'s provider, and others only when listed', () => {
      expect(loadInputConfig({}).embeddings).to.deep.equal({ provider: 'local', allowed: ['local'] });
      expect(loadInputConfig({ EMBEDDINGS_PROVIDER: 'openai' }).embeddings.allowed).to.deep.equal(['openai']);
      expect(loadInputConfig({ AI_PROVIDERS_ALLOWED: 'local,openai' }).embeddings.allowed).to.deep.equal(['local', 'openai']);
      expect(() => loadConfig({ AI_PROVIDERS_ALLOWED: 'local,magic' })).to.throw(ConfigError, /^AI_PROVIDERS_ALLOWED/);
      expect(() => loadConfig({ JOBVISOR_MAX_INPUT_BYTES: 'lots' })).to.throw(ConfigError, /^JOBVISOR_MAX_INPUT_BYTES/);
      expect(() => loadConfig({ JOBVISOR_CLEANUP_MIN_AGE_DAYS: '0' })).to.throw(ConfigError, /^JOBVISOR_CLEANUP_MIN_AGE_DAYS/);
    });

    it('reads NODE_ENV whatever its case, and HOST', () => {
      expect(loadConfig({ NODE_ENV: 'Production' }).production).to.equal(true);
      expect(loadConfig({ NODE_ENV: ' PRODUCTION ' }).production).to.equal(true);
      expect(loadConfig({ NODE_ENV: 'development' }).production).to.equal(false);
      expect(loadConfig({}).host).to.equal('127.0.0.1');
      expect(loadConfig({ HOST: '0.0.0.0' }).host).to.equal('0.0.0.0');
    });
  });

  describe('decompression checks', () => {
    it('passes a small DOCX and refuses one that expands a thousandfold', async () => {
      await checkDocx(makeDocx('Orchard notes'), 64 << 20);
      const bomb = makeDocx('a'.repeat(30 << 20));
      expect(bomb.length).to.be.below(64 * 1024);
      const refused = await checkDocx(bomb, 64 << 20).then(() => undefined, (error: Error) => error);
      expect(refused?.message).to.match(/more than 200 to 1/);
      const capped = await checkDocx(makeDocx('b'.repeat(2 << 20)), 1 << 20).then(() => undefined, (error: Error) => error);
      expect(capped?.message).to.match(/JOBVISOR_MAX_UNZIPPED_BYTES/);
    });

    it('refuses a DOCX whose header understates what an entry inflates to', async () => {
      const liar = makeDocx('c'.repeat(100_000), { statedSize: 1000 });
      const refused = await checkDocx(liar, 64 << 20).then(() => undefined, (error: Error) => error);
      expect(refused?.message).to.match(/JOBVISOR_MAX_UNZIPPED_BYTES/);
    });

    it('refuses a PDF whose Flate streams expand past the cap, and passes one within it', async () => {
      const stream = (bytes: Buffer) => Buffer.concat([Buffer.from('1 0 obj\n<< /Filter /FlateDecode >>\nstream\n'), zlib.deflateSync(bytes), Buffer.from('\nendstream\nendobj\n')]);
      const pdf = (size: number) => Buffer.concat([Buffer.from('%PDF-1.7\n'), stream(Buffer.alloc(size, 32)), stream(Buffer.alloc(size, 32)), Buffer.from('%%EOF\n')]);
      await checkPdf(pdf(1000), 1 << 20);
      const refused = await checkPdf(pdf(600 << 10), 1 << 20).then(() => undefined, (error: Error) => error);
      expect(refused?.message).to.match(/JOBVISOR_MAX_UNZIPPED_BYTES/);
    });
  });
});
