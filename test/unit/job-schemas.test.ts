import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { validateJobData } from '../../src/queues/validate.js';

describe('job data schemas (validateJobData, as the api uses it at enqueue)', () => {
  it('accepts valid data and fills in defaults', () => {
    const result = validateJobData('video', { source: '/videos/a.mp4' });
    expect(result).to.deep.equal({ ok: true, data: { source: '/videos/a.mp4', height: 480, preset: 'veryfast' } });
  });

  it('names the field that is wrong, with the path inside data', () => {
    expect(validateJobData('video', { source: 'a.mp4', height: 7 })).to.deep.include({ ok: false, field: 'data.height' });
    expect(validateJobData('document', { chunkSize: 500 })).to.deep.include({ ok: false, field: 'data.source' });
    expect(validateJobData('document', { content: 'x', chunkSize: 200, overlap: 300 })).to.deep.include({ ok: false, field: 'data.overlap' });
    expect(validateJobData('ai', { texts: [] })).to.deep.include({ ok: false, field: 'data.texts' });
    expect(validateJobData('rag-sync', { feeds: ['not a url'] })).to.deep.include({ ok: false, field: 'data.feeds.0' });
    expect(validateJobData('maintenance', { maxAgeDays: -1 })).to.deep.include({ ok: false, field: 'data.maxAgeDays' });
    const notAnObject = validateJobData('ai', 'hello');
    expect(notAnObject).to.deep.include({ ok: false, field: 'data' });
  });

  it('loads no handler code: importing the schemas pulls in neither ffmpeg nor the PDF library', () => {
    const script = `require('./src/queues/index.ts'); require('./src/queues/validate.ts');
      const loaded = Object.keys(require.cache).filter((f) => /src[\\/]queues[\\/][a-z-]+[\\/](?!index|schema)|node_modules[\\/](@ffmpeg-installer|@ffprobe-installer|unpdf|mammoth|cheerio)[\\/]/.test(f));
      process.stdout.write(JSON.stringify(loaded));`;
    const out = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { cwd: path.resolve(__dirname, '../..'), encoding: 'utf8' });
    expect(out.status, out.stderr).to.equal(0);
    expect(JSON.parse(out.stdout)).to.deep.equal([]);
  });
});
