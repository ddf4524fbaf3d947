// examples/serve.ts, compiled, as a newcomer would run it: on 127.0.0.1 and a
// free port, with PNG and JPEG uploads, bad uploads (not an image, wrong type,
// too large, wrong path or method), still serving after each, and a clean stop
// on SIGTERM. Every wait is bounded.
import test from 'ava';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Classifier } from '../../src/classifier';
import { encode, saveSeededWeights, testImages } from '../helpers/images';
import { repoRoot, tempDir } from '../helpers/python';

const serveJs = path.join(repoRoot, 'dist', 'examples', 'serve.js');
const START_TIMEOUT = 120_000;
const REQUEST_TIMEOUT = 60_000;

let dir: string;
let weights: string;
let server: ChildProcess | null = null;
let url: string;
let stdout = '';
let png: Buffer;
let jpeg: Buffer;

/** Starts the service and resolves with its URL once it prints it. */
function start(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [serveJs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`no URL within ${START_TIMEOUT} ms; stdout: ${stdout}; stderr: ${stderr}`)), START_TIMEOUT);
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /Listening on (http:\/\/\S+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the service exited with ${code}; stderr: ${stderr}`));
    });
  });
}

/** Resolves with the exit code, or rejects after `ms`. */
function exit(child: ChildProcess, ms: number): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

async function request(target: string, init: RequestInit = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(target, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT) });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

function post(body: Buffer, type: string | null, query = ''): Promise<{ status: number; body: any; headers: Headers }> {
  return request(`${url}${query}`, { method: 'POST', body, headers: type === null ? {} : { 'Content-Type': type } });
}

/** A body of n MiB sent in chunks, with no Content-Length. */
function megabytes(n: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent++ < n) controller.enqueue(new Uint8Array(1024 * 1024));
      else controller.close();
    },
  });
}

test.before(async () => {
  dir = tempDir('torchbridge-serve-');
  weights = path.join(dir, 'seeded.pt');
  await saveSeededWeights(weights);
  const { pixels } = await testImages(2);
  png = await encode(pixels[0], 'png');
  jpeg = await encode(pixels[1], 'jpeg');
  url = await start(['--checkpoint', weights, '--port', '0', '--host', '127.0.0.1']);
});

test.after.always(() => {
  if (server && server.exitCode === null) server.kill('SIGKILL');
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test.serial('it listens on 127.0.0.1 and the port the system chose', (t) => {
  const m = /^http:\/\/127\.0\.0\.1:(\d+)\/predict$/.exec(url);
  t.truthy(m, url);
  t.true(Number(m![1]) > 0);
});

test.serial('PNG and JPEG uploads get the predictions the library gives for the same bytes', async (t) => {
  const clf = await Classifier.load(weights);
  try {
    const a = await post(png, 'image/png');
    t.is(a.status, 200);
    t.is(a.headers.get('content-type'), 'application/json');
    t.deepEqual(a.body, { predictions: await clf.predict(png) });
    const b = await post(jpeg, 'Image/JPEG', '?topk=2');
    t.is(b.status, 200);
    t.deepEqual(b.body, { predictions: await clf.predict(jpeg, { topk: 2 }) });
  } finally {
    clf.dispose();
  }
});

test.serial('bad requests get a clear JSON error, and the service keeps serving', async (t) => {
  const cases: [() => ReturnType<typeof post>, number, RegExp][] = [
    [() => post(Buffer.from('not an image at all'), 'image/png'), 400, /^Cannot decode the image Buffer \(19 bytes\): .*expected a PNG, JPEG or WebP image$/],
    [() => post(png.subarray(0, 60), 'image/png'), 400, /^Cannot decode/],
    [() => post(Buffer.alloc(0), 'image/png'), 400, /The body is empty/],
    [() => post(png, 'image/png', '?topk=lots'), 400, /^Expected integer between 1 and 10 for topk but received 'lots' of type string$/],
    [() => post(png, 'image/png', '?topk=11'), 400, /^Expected integer between 1 and 10 for topk but received 11 of type number$/],
    [() => post(png, 'text/plain'), 415, /^Expected Content-Type image\/png, image\/jpeg or image\/webp but received 'text\/plain'$/],
    [() => post(png, 'application/octet-stream'), 415, /received 'application\/octet-stream'/],
    [() => post(Buffer.alloc(4 * 1024 * 1024 + 1), 'image/png'), 413, /larger than 4194304 bytes/],
    // Streamed without a Content-Length: refused once the bytes pass the limit.
    [() => request(url, { method: 'POST', body: megabytes(5), headers: { 'Content-Type': 'image/jpeg' }, duplex: 'half' } as RequestInit), 413, /larger than/],
    [() => request(url), 405, /^Use POST for \/predict, not GET$/],
    [() => request(url.replace(/\/predict$/, '/classify'), { method: 'POST', body: png, headers: { 'Content-Type': 'image/png' } }), 404, /POST an image to \/predict/],
  ];
  for (const [send, status, re] of cases) {
    const r = await send();
    t.is(r.status, status, JSON.stringify(r.body));
    t.deepEqual(Object.keys(r.body), ['error']);
    t.regex(r.body.error, re);
    if (status === 405) t.is(r.headers.get('allow'), 'POST');
    // Still serving.
    const ok = await post(png, 'image/png', '?topk=1');
    t.is(ok.status, 200);
    t.is(ok.body.predictions.length, 1);
  }
});

test.serial('concurrent uploads are all answered', async (t) => {
  const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => post(i % 2 ? jpeg : png, i % 2 ? 'image/jpeg' : 'image/png')));
  t.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200, 200]);
  t.deepEqual(answers[2].body, answers[0].body);
  t.deepEqual(answers[3].body, answers[1].body);
});

test.serial('SIGTERM closes the server, frees the model and exits 0', async (t) => {
  const child = server!;
  child.kill('SIGTERM');
  t.is(await exit(child, 30_000), 0);
  t.regex(stdout, /SIGTERM: closing\nClosed\n$/);
  await t.throwsAsync(request(url), { message: /fetch failed/ });
});

test.serial('without --checkpoint, or with a bad --port, it exits 1 with a message', (t) => {
  const noCheckpoint = spawnSync(process.execPath, [serveJs, '--port', '0'], { encoding: 'utf8', timeout: START_TIMEOUT });
  t.is(noCheckpoint.status, 1);
  t.regex(noCheckpoint.stderr, /serve needs --checkpoint <file>/);
  const badPort = spawnSync(process.execPath, [serveJs, '--checkpoint', weights, '--port', 'http'], { encoding: 'utf8', timeout: START_TIMEOUT });
  t.is(badPort.status, 1);
  t.regex(badPort.stderr, /Expected a port from 0 to 65535 for --port but received 'http'/);
});
