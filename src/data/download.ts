// Fetches cifar-10-binary.tar.gz and unpacks it, like torchvision's download=True.
//
// Safety rules: the archive streams into a temporary file in root and is used only
// after its MD5 matches; it unpacks into a temporary folder, and only a complete,
// checked cifar-10-batches-bin/ is renamed into place. Every failure deletes the
// temporaries, and temporaries left by a killed process are deleted by the next run,
// so a broken download is never used and the next run starts again.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import * as tar from 'tar';

import { ProgressBar } from '../progress';
import * as v from '../validate';
import { ALL_FILES, ARCHIVE_NAME, BASE_FOLDER, DEFAULT_MD5, DEFAULT_URL, fileProblems, manualHelp } from './layout';

/** Options of {@link downloadCIFAR10}. */
export interface DownloadOptions {
  /** Archive URL; else $TORCHBRIDGE_CIFAR10_URL, else the official one. */
  url?: string;
  /** Expected MD5 of the archive (hex); the official archive's by default. */
  md5?: string;
  /** Where the progress bar goes; null for none. process.stderr by default. */
  progress?: NodeJS.WritableStream | null;
  /** Status lines; console.log by default (torchvision prints them to stdout). */
  log?: (line: string) => void;
  /** Milliseconds without any data before giving up. */
  timeout?: number;
}

const MAX_REDIRECTS = 10;
const TEMP_ARCHIVE = /^\.cifar-10-binary\.tar\.gz\.(\d+)\.[0-9a-z]+\.part$/;
const TEMP_FOLDER = /^\.cifar-10-(?:extract|old)\.(\d+)\.[0-9A-Za-z]+$/;

/**
 * Makes sure root/cifar-10-batches-bin/ holds the CIFAR-10 binary files, downloading
 * and unpacking the archive if any is missing. A file that is there but damaged
 * (truncated, empty) is named in an error instead.
 */
export async function downloadCIFAR10(root: string, options: DownloadOptions = {}): Promise<void> {
  const o = v.options(options, 'options', ['url', 'md5', 'progress', 'log', 'timeout']);
  const dir = path.resolve(v.string(root, 'root'));
  const url = checkUrl(o.url ?? (process.env.TORCHBRIDGE_CIFAR10_URL || DEFAULT_URL));
  const md5 = o.md5 === undefined ? DEFAULT_MD5 : checkMd5(o.md5);
  const log = o.log === undefined ? (line: string) => console.log(line) : checkFunction(o.log, 'log') as (line: string) => void;
  const progress = o.progress === undefined ? process.stderr : o.progress === null ? null : checkStream(o.progress, 'progress');
  const timeout = o.timeout === undefined ? 60_000 : v.integer(o.timeout, 'timeout', 1);

  const target = path.join(dir, BASE_FOLDER);
  const before = fileProblems(target, ALL_FILES);
  if (before.bad.length > 0) {
    // A damaged file is the user's to look at: name it rather than download over it.
    throw new Error(`CIFAR-10 file ${before.bad.join('; ')}. Delete it to download CIFAR-10 again, or put a good copy there.`);
  }
  if (before.missing.length === 0) {
    log('Files already downloaded and verified');
    return;
  }

  // Remember which folders this call creates, to remove them again if it fails.
  const created = await fs.promises.mkdir(dir, { recursive: true });
  await removeStaleTemporaries(dir);
  const archive = path.join(dir, `.${ARCHIVE_NAME}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.part`);
  const temporaries = [archive];
  active.add(archive);
  try {
    log(`Downloading ${url} to ${path.join(dir, ARCHIVE_NAME)}`);
    let got: { bytes: number; md5: string };
    try {
      got = await fetchToFile(url, archive, { progress, timeout });
    } catch (e) {
      throw new Error(`Could not download CIFAR-10 from ${url}: ${(e as Error).message}. Nothing was kept; run again to retry. ${manualHelp(dir)}`, { cause: e });
    }
    if (got.md5 !== md5) {
      throw new Error(
        `MD5 mismatch for ${url}: expected ${md5} but the downloaded ${got.bytes} bytes have MD5 ${got.md5}. ` +
          'The download is corrupt (or the url/md5 options do not match) and was deleted; run again to retry.',
      );
    }

    log(`Extracting ${ARCHIVE_NAME} to ${dir}`);
    const staging = await fs.promises.mkdtemp(path.join(dir, `.cifar-10-extract.${process.pid}.`));
    temporaries.push(staging);
    active.add(staging);
    const staged = path.join(staging, BASE_FOLDER);
    try {
      await safeExtract(archive, staging, url);
      const check = fileProblems(staged, ALL_FILES);
      if (check.missing.length > 0 || check.bad.length > 0) {
        const what = [...check.missing.map((f) => `${BASE_FOLDER}/${f} is missing`), ...check.bad.map((b) => path.relative(staging, b))];
        throw new Error(`The archive from ${url} is not the CIFAR-10 binary version: ${what.join('; ')}`);
      }
    } catch (e) {
      throw new Error(`${(e as Error).message}. Nothing was installed and the archive was deleted; run again to download it again.`, { cause: e });
    }
    await moveIntoPlace(staged, target, dir);
  } catch (e) {
    // Leave no empty folders behind either (only empty ones: rmdir refuses others).
    if (created) {
      await removeTemporaries(temporaries).catch(() => undefined); // e, not a cleanup error, is what the user needs
      for (let d = dir; d.length >= created.length; d = path.dirname(d)) {
        if (!(await fs.promises.rmdir(d).then(() => true, () => false))) break;
      }
    }
    throw e;
  } finally {
    await removeTemporaries(temporaries);
  }
}

async function removeTemporaries(temporaries: string[]): Promise<void> {
  for (const t of temporaries) {
    // Retries: a failed unpack can still be flushing a file as the folder goes.
    await fs.promises.rm(t, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    active.delete(t);
  }
}

function checkUrl(u: unknown): string {
  const s = v.string(u, 'url');
  let parsed: URL;
  try {
    parsed = new URL(s);
  } catch {
    throw v.invalid('http:// or https:// URL', 'url', u);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw v.invalid('http:// or https:// URL', 'url', u);
  return parsed.href;
}

function checkMd5(m: unknown): string {
  if (typeof m !== 'string' || !/^[0-9a-fA-F]{32}$/.test(m)) throw v.invalid('32-digit hex MD5', 'md5', m);
  return m.toLowerCase();
}

function checkFunction(f: unknown, name: string): unknown {
  if (typeof f !== 'function') throw v.invalid('function', name, f);
  return f;
}

function checkStream(s: unknown, name: string): NodeJS.WritableStream {
  if (typeof s !== 'object' || s === null || typeof (s as NodeJS.WritableStream).write !== 'function') throw v.invalid('writable stream or null', name, s);
  return s as NodeJS.WritableStream;
}

// Temporaries of downloads in flight in this process, removed even on process.exit().
const active = new Set<string>();
process.on('exit', () => {
  for (const t of active) {
    try {
      fs.rmSync(t, { recursive: true, force: true });
    } catch {
      // Exiting anyway; the next run removes it.
    }
  }
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes temporaries of killed downloads (their process is gone). */
async function removeStaleTemporaries(dir: string): Promise<void> {
  for (const name of await fs.promises.readdir(dir)) {
    const m = TEMP_ARCHIVE.exec(name) ?? TEMP_FOLDER.exec(name);
    if (m && Number(m[1]) !== process.pid && !isAlive(Number(m[1]))) {
      await fs.promises.rm(path.join(dir, name), { recursive: true, force: true });
    }
  }
}

/** GET with redirects; resolves with a 200 response. */
function get(url: string, timeout: number, hops = 0): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = url.startsWith('https:') ? https : http;
    const req = client.get(url, { headers: { 'user-agent': 'torchbridge' } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (hops >= MAX_REDIRECTS) {
          reject(new Error(`more than ${MAX_REDIRECTS} redirects`));
          return;
        }
        let next: string;
        try {
          next = checkUrl(new URL(res.headers.location, url).href);
        } catch {
          reject(new Error(`redirected to an unsupported location '${res.headers.location}'`));
          return;
        }
        get(next, timeout, hops + 1).then(resolve, reject);
        return;
      }
      if (status !== 200) {
        res.resume();
        reject(new Error(`the server answered HTTP ${status} ${res.statusMessage ?? ''}`.trimEnd()));
        return;
      }
      resolve(res);
    });
    // One timeout for connecting and for every pause in the body.
    req.setTimeout(timeout, () => req.destroy(new Error(`no data for ${timeout / 1000} s`)));
    req.on('error', reject);
  });
}

/** Streams url into file (which must not exist), hashing as it goes. */
export async function fetchToFile(url: string, file: string, options: { progress: NodeJS.WritableStream | null; timeout: number }): Promise<{
  bytes: number; md5: string;
}> {
  const res = await get(url, options.timeout);
  const length = Number(res.headers['content-length']);
  const total = Number.isSafeInteger(length) && length > 0 ? length : 0;
  const bar = options.progress ? new ProgressBar({ total, desc: ARCHIVE_NAME, unit: 'B', stream: options.progress }) : null;
  const hash = createHash('md5');
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      bar?.update(chunk.length);
      done(null, chunk);
    },
  });
  try {
    await pipeline(res, meter, fs.createWriteStream(file, { flags: 'wx' }));
  } catch (e) {
    throw new Error(`the download was interrupted after ${bytes}${total ? ` of ${total}` : ''} bytes (${(e as Error).message})`, { cause: e });
  } finally {
    bar?.close();
  }
  if (total && bytes !== total) throw new Error(`the download was interrupted after ${bytes} of ${total} bytes`);
  return { bytes, md5: hash.digest('hex') };
}

/** Why an archive entry may not be unpacked, or null if it may. */
function entryProblem(p: string, type: string): string | null {
  const parts = p.split(/[\\/]+/);
  if (p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:/.test(p) || parts.includes('..')) {
    return `entry '${p}' would be written outside the destination folder`;
  }
  if (type !== 'File' && type !== 'OldFile' && type !== 'ContiguousFile' && type !== 'Directory') {
    return `entry '${p}' is a ${type}; only files and folders are expected`;
  }
  return null;
}

/**
 * Unpacks a .tar.gz into dest, refusing entries that climb out of it (`..`,
 * absolute paths) or links. Truncated or corrupt archives throw.
 */
export async function safeExtract(file: string, dest: string, source = file): Promise<void> {
  let bad: string | null = null;
  try {
    // Check the gzip stream whole first: tar rejects on a truncated one while file
    // writes are still in flight, and those would race the cleanup.
    await pipeline(fs.createReadStream(file), zlib.createGunzip(), new Writable({ write: (_c, _e, done) => done() }));
    await tar.x({
      file,
      cwd: dest,
      strict: true,
      // The filter sees raw entry paths, before tar would strip or skip them quietly.
      filter: (p, entry) => {
        const problem = entryProblem(p, 'type' in entry ? String(entry.type) : 'File');
        if (problem) bad ??= problem;
        return problem === null;
      },
    });
  } catch (e) {
    throw new Error(`Could not unpack the archive from ${source}: ${(e as Error).message} (it is truncated or corrupt)`, { cause: e });
  }
  if (bad) throw new Error(`Refusing to unpack the archive from ${source}: ${bad}`);
}

/** Renames the unpacked folder (or, if the folder exists, each file) into place. */
async function moveIntoPlace(staged: string, target: string, dir: string): Promise<void> {
  try {
    await fs.promises.rename(staged, target);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EISDIR' && code !== 'ENOTDIR' && code !== 'EPERM') throw e;
  }
  // A folder is there already (incomplete, or with the user's own files): replace
  // the dataset files one by one, each rename being atomic.
  const st = await fs.promises.lstat(target);
  if (!st.isDirectory()) {
    throw new Error(`Cannot install CIFAR-10: ${target} exists and is not a folder; move it away and run again`);
  }
  for (const name of await fs.promises.readdir(staged)) {
    const to = path.join(target, name);
    const old = await fs.promises.lstat(to).catch(() => null);
    if (old?.isDirectory()) {
      // rename() cannot replace a folder: move it aside, then delete it.
      const aside = await fs.promises.mkdtemp(path.join(dir, `.cifar-10-old.${process.pid}.`));
      await fs.promises.rename(to, path.join(aside, name));
      await fs.promises.rename(path.join(staged, name), to);
      await fs.promises.rm(aside, { recursive: true, force: true });
    } else {
      await fs.promises.rename(path.join(staged, name), to);
    }
  }
}
