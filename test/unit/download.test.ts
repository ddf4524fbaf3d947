// download: true against a local HTTP server serving a small archive in the
// official layout: good, redirected, truncated, corrupt, wrong checksum, unsafe
// entries, 404, and no server at all. Failures must leave nothing behind and the
// next good download must work. Also the progress bar's output.
import test from 'ava';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import * as zlib from 'node:zlib';
import * as tar from 'tar';
import { CIFAR10, downloadCIFAR10 } from '../../src/data';
import { RECORD_BYTES } from '../../src/data/layout';
import { formatInterval, formatSize, ProgressBar } from '../../src/progress';
import { tempDir } from '../helpers/python';

const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** Collects what is written to it; isTTY as asked. */
class Sink extends Writable {
  text = '';
  isTTY: boolean;
  columns = 100;
  constructor(isTTY = false) {
    super();
    this.isTTY = isTTY;
  }
  _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

interface Fixture {
  good: Buffer;
  corrupt: Buffer;
  evil: Buffer;
  base: string;
  server: http.Server;
  work: string;
}
let fx: Fixture;

test.before(async () => {
  const work = tempDir('torchbridge-dl-');
  // The official layout: cifar-10-batches-bin/ with five train batches, the test
  // batch, the class names and a readme, a few records each.
  const src = path.join(work, 'src', 'cifar-10-batches-bin');
  fs.mkdirSync(src, { recursive: true });
  const records = (labels: number[]): Buffer => Buffer.concat(labels.map((l) => {
    const r = Buffer.alloc(RECORD_BYTES, 17 * l + 3);
    r[0] = l;
    return r;
  }));
  for (let f = 1; f <= 5; f++) fs.writeFileSync(path.join(src, `data_batch_${f}.bin`), records([f, f + 1, 0]));
  fs.writeFileSync(path.join(src, 'test_batch.bin'), records([7, 8]));
  fs.writeFileSync(path.join(src, 'batches.meta.txt'), `${CLASSES.join('\n')}\n\n`);
  fs.writeFileSync(path.join(src, 'readme.html'), '<html></html>\n');
  const archive = path.join(work, 'archive.tar.gz');
  await tar.c({ file: archive, gzip: true, cwd: path.join(work, 'src') }, ['cifar-10-batches-bin']);
  const good = fs.readFileSync(archive);
  // Its first half: a gzip stream that ends early.
  const corrupt = good.subarray(0, good.length >> 1);
  // An archive with an entry that climbs out of the destination.
  const header = new tar.Header({ path: '../escaped.txt', mode: 0o644, size: 6, type: 'File', mtime: new Date() });
  header.encode();
  const body = Buffer.alloc(512);
  body.write('gotcha');
  const evil = zlib.gzipSync(Buffer.concat([header.block!, body, Buffer.alloc(1024)]));

  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (url === '/good.tgz' || url === '/corrupt.tgz' || url === '/evil.tgz') {
      const data = url === '/good.tgz' ? good : url === '/corrupt.tgz' ? corrupt : evil;
      res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': data.length });
      res.end(data);
    } else if (url === '/moved') {
      res.writeHead(302, { location: '/good.tgz' });
      res.end();
    } else if (url === '/truncated.tgz') {
      // Promises the whole archive, sends half, then drops the connection.
      res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': good.length });
      res.write(good.subarray(0, good.length >> 1), () => setTimeout(() => res.socket?.destroy(), 20));
    } else {
      res.writeHead(404, 'Not Found');
      res.end('no');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  fx = { good, corrupt, evil, base: `http://127.0.0.1:${port}`, server, work };
});

test.after.always(() => {
  fx?.server.close();
  if (fx) fs.rmSync(fx.work, { recursive: true, force: true });
});

function newRoot(): string {
  return fs.mkdtempSync(path.join(fx.work, 'root-'));
}

/** Files left in root, temporaries included. */
function leftovers(root: string): string[] {
  return fs.existsSync(root) ? fs.readdirSync(root).sort() : [];
}

function quiet(extra: Record<string, unknown> = {}): { progress: Sink; log: (l: string) => void; lines: string[] } & Record<string, unknown> {
  const lines: string[] = [];
  return { progress: new Sink(), log: (l: string) => lines.push(l), lines, ...extra };
}

async function goodDownload(t: { is: (a: unknown, b: unknown) => void; true: (a: boolean, m?: string) => void }, root: string): Promise<void> {
  const q = quiet();
  const ds = await CIFAR10.create({ root, train: true, download: true, url: `${fx.base}/good.tgz`, md5: md5(fx.good), progress: q.progress, log: q.log });
  t.is(ds.length, 15);
  t.true(q.lines.some((l) => l.startsWith('Downloading ')), q.lines.join('\n'));
  t.is(leftovers(root).join(','), 'cifar-10-batches-bin');
}

test('downloads through a redirect, verifies, unpacks, then reports the files as verified', async (t) => {
  const root = path.join(newRoot(), 'not', 'yet', 'there');
  const q = quiet();
  const ds = await CIFAR10.create({ root, download: true, url: `${fx.base}/moved`, md5: md5(fx.good), progress: q.progress, log: q.log });
  t.is(ds.length, 15);
  t.deepEqual(Array.from(ds.labels), [1, 2, 0, 2, 3, 0, 3, 4, 0, 4, 5, 0, 5, 6, 0]);
  t.deepEqual(ds.classes, CLASSES);
  t.deepEqual(q.lines, [
    `Downloading ${fx.base}/moved to ${path.join(root, 'cifar-10-binary.tar.gz')}`,
    `Extracting cifar-10-binary.tar.gz to ${root}`,
  ]);
  // Not a TTY: only the final line; byte counts with prefixes and a byte rate.
  t.regex(q.progress.text, /^cifar-10-binary\.tar\.gz: 100%\|█+\| [\d.]+k?\/[\d.]+k? \[\d\d:\d\d<00:00, [\d.?]+[kMG]?B\/s\]\n$/);
  t.deepEqual(leftovers(root), ['cifar-10-batches-bin'], 'no archive or temporaries left');
  t.true(fs.existsSync(path.join(root, 'cifar-10-batches-bin', 'readme.html')));

  const again = quiet();
  const test2 = await CIFAR10.create({ root, train: false, download: true, url: `${fx.base}/nothing-here`, progress: again.progress, log: again.log });
  t.deepEqual(again.lines, ['Files already downloaded and verified']);
  t.is(again.progress.text, '');
  t.deepEqual(Array.from(test2.labels), [7, 8]);
});

test('a truncated download fails clearly, leaves nothing, and the next run starts again', async (t) => {
  const root = newRoot();
  const q = quiet();
  const e = await t.throwsAsync(downloadCIFAR10(root, { url: `${fx.base}/truncated.tgz`, md5: md5(fx.good), progress: q.progress, log: q.log }));
  t.regex(e!.message, new RegExp(`^Could not download CIFAR-10 from ${fx.base}/truncated\\.tgz: the download was interrupted after \\d+ of ${fx.good.length} bytes`));
  t.regex(e!.message, /Nothing was kept; run again to retry/);
  t.deepEqual(leftovers(root), []);
  await goodDownload(t, root);
});

test('a wrong checksum fails with both MD5s, leaves nothing, and the next run works', async (t) => {
  const root = newRoot();
  const q = quiet();
  const wrong = '0123456789abcdef0123456789abcdef';
  const e = await t.throwsAsync(downloadCIFAR10(root, { url: `${fx.base}/good.tgz`, md5: wrong, progress: q.progress, log: q.log }));
  t.is(e!.message, `MD5 mismatch for ${fx.base}/good.tgz: expected ${wrong} but the downloaded ${fx.good.length} bytes have MD5 ${md5(fx.good)}. ` +
    'The download is corrupt (or the url/md5 options do not match) and was deleted; run again to retry.');
  t.deepEqual(leftovers(root), []);
  // The default checksum is the official archive's: this one does not match it.
  const e2 = await t.throwsAsync(downloadCIFAR10(root, { url: `${fx.base}/good.tgz`, progress: null, log: q.log }));
  t.regex(e2!.message, /expected c32a1d4ab5d03f1284b67883e8d87530 but/);
  t.deepEqual(leftovers(root), []);
  await goodDownload(t, root);
});

test('a corrupt archive with a matching checksum fails to unpack and installs nothing', async (t) => {
  const root = newRoot();
  const q = quiet();
  const e = await t.throwsAsync(downloadCIFAR10(root, { url: `${fx.base}/corrupt.tgz`, md5: md5(fx.corrupt), progress: q.progress, log: q.log }));
  t.regex(e!.message, new RegExp(`^Could not unpack the archive from ${fx.base}/corrupt\\.tgz: .+ \\(it is truncated or corrupt\\)\\. Nothing was installed`));
  t.deepEqual(leftovers(root), []);
  await goodDownload(t, root);
});

test('entries that climb out of the destination are refused', async (t) => {
  const root = newRoot();
  const q = quiet();
  const e = await t.throwsAsync(downloadCIFAR10(root, { url: `${fx.base}/evil.tgz`, md5: md5(fx.evil), progress: q.progress, log: q.log }));
  t.regex(e!.message, /^Refusing to unpack the archive from .*evil\.tgz: entry '\.\.\/escaped\.txt' would be written outside the destination folder\. Nothing was installed/);
  t.deepEqual(leftovers(root), []);
  t.false(fs.existsSync(path.join(path.dirname(root), 'escaped.txt')));
  t.false(fs.existsSync(path.join(root, 'escaped.txt')));
});

test('no network: the error says where to put the files by hand', async (t) => {
  // A port that was just free: nothing listens there.
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as AddressInfo;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const parent = newRoot();
  const root = path.join(parent, 'data', 'cifar');
  const q = quiet();
  const e = await t.throwsAsync(CIFAR10.create({ root, download: true, url: `http://127.0.0.1:${port}/cifar-10-binary.tar.gz`, progress: q.progress, log: q.log }));
  t.true(e!.message.startsWith(`Could not download CIFAR-10 from http://127.0.0.1:${port}/cifar-10-binary.tar.gz: connect ECONNREFUSED`), e!.message);
  t.true(e!.message.includes('Without network access, put the files there by hand'), e!.message);
  t.true(e!.message.includes(`${path.join(root, 'cifar-10-batches-bin')}${path.sep} holds data_batch_1.bin`), e!.message);
  t.true(e!.message.includes('https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz'));
  t.deepEqual(leftovers(parent), [], 'the folders it made are removed again');
});

test('HTTP errors are reported with their status', async (t) => {
  const root = newRoot();
  const e = await t.throwsAsync(downloadCIFAR10(root, { url: `${fx.base}/missing.tgz`, md5: md5(fx.good), progress: null, log: () => {} }));
  t.regex(e!.message, /: the server answered HTTP 404 Not Found\. Nothing was kept/);
  t.deepEqual(leftovers(root), []);
});

test.serial('TORCHBRIDGE_CIFAR10_URL overrides the URL; stale temporaries of dead runs are removed', async (t) => {
  const root = newRoot();
  // A temporary from a killed run (pid 2^22 + 1 is beyond Linux's pid range).
  const stale = path.join(root, `.cifar-10-binary.tar.gz.${2 ** 22 + 1}.abc123.part`);
  fs.writeFileSync(stale, 'partial');
  const before = process.env.TORCHBRIDGE_CIFAR10_URL;
  process.env.TORCHBRIDGE_CIFAR10_URL = `${fx.base}/good.tgz`;
  try {
    const q = quiet();
    await downloadCIFAR10(root, { md5: md5(fx.good), progress: q.progress, log: q.log });
    t.regex(q.lines[0], new RegExp(`^Downloading ${fx.base}/good\\.tgz to `));
  } finally {
    if (before === undefined) delete process.env.TORCHBRIDGE_CIFAR10_URL;
    else process.env.TORCHBRIDGE_CIFAR10_URL = before;
  }
  t.deepEqual(leftovers(root), ['cifar-10-batches-bin']);
});

test('an incomplete folder is completed and keeps unrelated files', async (t) => {
  const root = newRoot();
  const dir = path.join(root, 'cifar-10-batches-bin');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
  const q = quiet();
  await downloadCIFAR10(root, { url: `${fx.base}/good.tgz`, md5: md5(fx.good), progress: q.progress, log: q.log });
  t.is(fs.statSync(path.join(dir, 'data_batch_1.bin')).size, 3 * RECORD_BYTES);
  t.is(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8'), 'mine');
  t.deepEqual(leftovers(root), ['cifar-10-batches-bin']);
});

test('a truncated batch file is named with its expected size, not downloaded over', async (t) => {
  const root = newRoot();
  const dir = path.join(root, 'cifar-10-batches-bin');
  fs.mkdirSync(dir);
  const file = path.join(dir, 'data_batch_1.bin');
  fs.writeFileSync(file, Buffer.alloc(RECORD_BYTES + 100));
  const q = quiet();
  const e = await t.throwsAsync(downloadCIFAR10(root, { url: `${fx.base}/good.tgz`, md5: md5(fx.good), progress: q.progress, log: q.log }));
  t.true(e!.message.startsWith(`CIFAR-10 file ${file} is truncated: it has ${RECORD_BYTES + 100} bytes, not a whole number of ` +
    `${RECORD_BYTES}-byte records (1 label byte + 3072 pixel bytes); expected ${2 * RECORD_BYTES} bytes for 2 records`), e!.message);
  t.regex(e!.message, /Delete it to download CIFAR-10 again/);
  t.is(fs.statSync(file).size, RECORD_BYTES + 100, 'the file is left as it was');
  t.false(fs.existsSync(path.join(dir, 'data_batch_2.bin')), 'nothing was downloaded');
});

test('download argument checks', async (t) => {
  await t.throwsAsync(downloadCIFAR10(newRoot(), { url: 'ftp://example.com/x' }), { message: "Expected http:// or https:// URL for url but received 'ftp://example.com/x' of type string" });
  await t.throwsAsync(downloadCIFAR10(newRoot(), { md5: 'abc' }), { message: "Expected 32-digit hex MD5 for md5 but received 'abc' of type string" });
  await t.throwsAsync(CIFAR10.create({ root: newRoot(), url: `${fx.base}/good.tgz` }), { message: 'The url and md5 options only apply with download: true' });
});

// ---- progress bar ------------------------------------------------------------

test('progress bar: tqdm-like lines, one per 10% off a TTY', (t) => {
  let now = 0;
  const sink = new Sink(false);
  const bar = new ProgressBar({ total: 50, desc: 'train', stream: sink, width: 10, now: () => now });
  for (let i = 0; i < 50; i++) {
    now += 100;
    bar.update();
  }
  bar.postfix = { loss: 0.123456, acc: 87.5 };
  bar.close();
  bar.close();
  const lines = sink.text.trimEnd().split('\n');
  t.is(lines.length, 10, sink.text);
  t.is(lines[0], 'train:  10%|█         | 5/50 [00:00<00:04, 10.00it/s]');
  t.is(lines[4], 'train:  50%|█████     | 25/50 [00:02<00:02, 10.00it/s]');
  t.is(lines[9], 'train: 100%|██████████| 50/50 [00:05<00:00, 10.00it/s, loss=0.1235, acc=87.5]');
});

test('progress bar: redraws in place on a TTY at most every 0.1 s', (t) => {
  let now = 0;
  const sink = new Sink(true);
  const bar = new ProgressBar({ total: 1000, stream: sink, width: 20, now: () => now });
  for (let i = 0; i < 1000; i++) {
    now += 1; // 1 ms per step: 1000 steps in one second
    bar.update();
  }
  bar.close();
  const draws = sink.text.split('\r').length - 1;
  t.true(draws >= 9 && draws <= 12, `${draws} draws`);
  t.true(sink.text.endsWith('\r100%|████████████████████| 1000/1000 [00:01<00:00, 1000.00it/s]\x1b[K\n'), JSON.stringify(sink.text.slice(-90)));
  t.regex(sink.text, /\r {2}\d%\|[ ▏▎▍▌▋▊▉█]{20}\| \d+\/1000 \[00:00<00:0\d, 1000\.00it\/s\]\x1b\[K/);
});

test('progress bar: bytes with prefixes, unknown totals, helpers', (t) => {
  let now = 0;
  const sink = new Sink(false);
  const bar = new ProgressBar({ total: 170_498_071, desc: 'cifar', unit: 'B', stream: sink, width: 10, now: () => now });
  now = 20_000;
  bar.update(170_498_071);
  bar.close();
  t.is(sink.text, 'cifar: 100%|██████████| 163M/163M [00:20<00:00, 8.13MB/s]\n');
  const open = new ProgressBar({ stream: new Sink(false), now: () => 2000 });
  open.update(3);
  t.regex(open.toString(), /^3it \[00:0\d, [\d.?]+it\/s\]$/);
  t.is(formatSize(999), '999');
  t.is(formatSize(1000), '1.00k');
  t.is(formatSize(1536, 1024), '1.50k');
  t.is(formatInterval(3725), '1:02:05');
  t.is(formatInterval(65), '01:05');
  t.throws(() => new ProgressBar({ total: -1 }), { message: 'Expected non-negative integer for total but received -1 of type number' });
});
