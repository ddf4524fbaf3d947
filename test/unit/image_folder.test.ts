// ImageFolder on small folders written here: torchvision's layout rules, the
// decoded-image cache (reused when nothing changed, re-decoding only what did,
// never a stale or broken store), bad images with and without skipBad, and the
// errors for folders that are not in the layout.
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { ImageFolder } from '../../src/data';
import { tempDir } from '../helpers/python';

/** A w x h PNG (or JPEG, WebP) whose pixels are a function of (x, y, channel). */
function picture(w: number, h: number, seed: number, format: 'png' | 'jpeg' | 'webp' = 'png'): Promise<Buffer> {
  const px = Buffer.alloc(w * h * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7 + seed * 31) % 256;
  const img = sharp(px, { raw: { width: w, height: h, channels: 3 } });
  return (format === 'png' ? img.png() : format === 'jpeg' ? img.jpeg() : img.webp({ lossless: true })).toBuffer();
}

/** root/<class>/<file> for each entry. */
async function folderOf(files: Record<string, Buffer | string>): Promise<string> {
  const root = path.join(tempDir(), 'root');
  fs.mkdirSync(root);
  for (const [rel, data] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), data);
  }
  return root;
}

test('layout: classes are the sorted folders; images at any depth, sorted; only PNG, JPEG and WebP names', async (t) => {
  const root = await folderOf({
    'zebra/b.png': await picture(8, 8, 1), 'zebra/A.PNG': await picture(8, 8, 2), 'zebra/sub/c.webp': await picture(8, 8, 3, 'webp'),
    'ant/x.jpg': await picture(8, 8, 4, 'jpeg'), 'ant/y.jpeg': await picture(8, 8, 5, 'jpeg'), 'ant/notes.txt': 'hello', 'ant/anim.gif': 'GIF89a',
    'README.md': 'not a class',
  });
  const ds = await ImageFolder.load(root, { cacheDir: tempDir(), imageSize: 8 });
  t.deepEqual(ds.classes, ['ant', 'zebra']);
  t.deepEqual(ds.classToIdx, { ant: 0, zebra: 1 });
  t.deepEqual(ds.samples.map((s) => path.relative(root, s.path).split(path.sep).join('/')), ['ant/x.jpg', 'ant/y.jpeg', 'zebra/A.PNG', 'zebra/b.png', 'zebra/sub/c.webp']);
  t.deepEqual(Array.from(ds.labels), [0, 0, 1, 1, 1]);
  t.deepEqual(ds.imageShape, [3, 8, 8]);
  t.is(ds.images.length, 5 * 3 * 8 * 8);
  t.deepEqual(ds.skipped, []);
  ds.dispose();
});

test('images: RGB, shorter side scaled to imageSize and the centre cropped (sharp cover), CHW', async (t) => {
  const wide = await picture(48, 24, 9);
  const root = await folderOf({ 'a/wide.png': wide, 'b/small.png': await picture(32, 32, 1) });
  const ds = await ImageFolder.load(root, { cacheDir: tempDir(), imageSize: 16 });
  const expected = await sharp(wide).resize(16, 16, { fit: 'cover', position: 'centre' }).raw().toBuffer();
  const chw = ds.image(0).data;
  for (let p = 0; p < 256; p++) for (let c = 0; c < 3; c++) t.is(chw[c * 256 + p], expected[p * 3 + c]);
  ds.dispose();
});

test('cache: a second load decodes nothing; a touched file is decoded again, and its new pixels are used', async (t) => {
  const root = await folderOf({ 'a/1.png': await picture(32, 32, 1), 'a/2.png': await picture(32, 32, 2), 'b/3.png': await picture(32, 32, 3) });
  const cacheDir = tempDir();
  const first = await ImageFolder.load(root, { cacheDir });
  t.is(first.decoded, 3);
  const second = await ImageFolder.load(root, { cacheDir });
  t.is(second.decoded, 0, 'all from the cache');
  t.deepEqual(second.images, first.images);
  // Only the manifest and one store; no temporary files left.
  t.deepEqual(fs.readdirSync(first.cacheFolder).map((f) => f.replace(/[0-9a-f]{16}/, 'ID')).sort(), ['images-ID.u8', 'manifest.json']);

  // Same size, new content and time: decoded again, and the new pixels are served (not the cached ones).
  const file = path.join(root, 'a', '2.png');
  const replaced = await picture(32, 32, 77);
  fs.writeFileSync(file, replaced);
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(file, later, later);
  const third = await ImageFolder.load(root, { cacheDir });
  t.is(third.decoded, 1);
  const fresh = await ImageFolder.load(root, { cacheDir: tempDir() });
  t.deepEqual(third.images, fresh.images, 'equal to a load without any cache');
  t.notDeepEqual(third.images, first.images);

  // A file added is decoded alone; a file removed needs no decoding.
  fs.writeFileSync(path.join(root, 'b', '4.png'), await picture(32, 32, 4));
  t.is((await ImageFolder.load(root, { cacheDir })).decoded, 1);
  fs.rmSync(path.join(root, 'a', '1.png'));
  const fewer = await ImageFolder.load(root, { cacheDir });
  t.is(fewer.decoded, 0);
  t.is(fewer.length, 3);

  // A store that does not match its manifest (here: cut short) is never used: everything is decoded again.
  const store = fs.readdirSync(fewer.cacheFolder).find((f) => f.endsWith('.u8'))!;
  fs.truncateSync(path.join(fewer.cacheFolder, store), 100);
  const rebuilt = await ImageFolder.load(root, { cacheDir });
  t.is(rebuilt.decoded, 3);
  t.deepEqual(rebuilt.images, fewer.images);

  // Another image size is another cache entry.
  t.is((await ImageFolder.load(root, { cacheDir, imageSize: 8 })).decoded, 3);
});

test('a corrupt image is named with sharp\'s message; skipBad leaves it out and lists it', async (t) => {
  const good = await picture(32, 32, 1);
  const root = await folderOf({ 'a/good.png': good, 'a/cut.png': good.subarray(0, 60), 'b/text.jpg': 'not a jpeg', 'b/ok.png': await picture(32, 32, 2) });
  const cacheDir = tempDir();
  const e = await t.throwsAsync(ImageFolder.load(root, { cacheDir }));
  t.regex(e!.message, /^Cannot decode 2 of 4 images in .*root: .*a\/cut\.png: .+; .*b\/text\.jpg: Input buffer contains unsupported image format\. /);
  t.regex(e!.message, /pass skipBad \(--skip-bad\) to leave them out$/);
  // The good images were cached all the same, and the failures too: skipBad decodes nothing more.
  const ds = await ImageFolder.load(root, { cacheDir, skipBad: true });
  t.is(ds.decoded, 0);
  t.is(ds.length, 2);
  t.deepEqual(ds.samples.map((s) => path.basename(s.path)), ['good.png', 'ok.png']);
  t.deepEqual(ds.skipped.map((s) => path.basename(s.path)), ['cut.png', 'text.jpg']);
  t.true(ds.skipped.every((s) => path.isAbsolute(s.path) && s.reason.length > 0));
  t.is(ds.skipped[1].reason, 'Input buffer contains unsupported image format');
  // A GIF named .png is not one of the formats promised.
  const gif = await sharp(Buffer.alloc(12, 200), { raw: { width: 2, height: 2, channels: 3 } }).gif().toBuffer();
  const root2 = await folderOf({ 'a/x.png': gif, 'a/y.png': good });
  await t.throwsAsync(ImageFolder.load(root2, { cacheDir }), { message: /x\.png: it is a GIF image\./ });
  // Nothing decodable at all is an error even with skipBad.
  const root3 = await folderOf({ 'a/x.png': 'junk' });
  await t.throwsAsync(ImageFolder.load(root3, { cacheDir, skipBad: true }), { message: /^None of the 1 images in .* could be decoded/ });
});

test('folders not in the layout, and bad options, get clear errors', async (t) => {
  const cacheDir = tempDir();
  const missing = path.join(tempDir(), 'nope');
  await t.throwsAsync(ImageFolder.load(missing, { cacheDir }), { message: `Image folder not found: ${missing}. Expected one folder per class holding its images (${path.join(missing, '<class>', '<image>.png')})` });
  const file = path.join(tempDir(), 'file.png');
  fs.writeFileSync(file, 'x');
  await t.throwsAsync(ImageFolder.load(file, { cacheDir }), { message: /^Image folder .*file\.png is not a folder/ });
  const flat = await folderOf({ 'a.png': await picture(8, 8, 1) });
  await t.throwsAsync(ImageFolder.load(flat, { cacheDir }), { message: /^Found no class folders in .*: expected one folder per class/ });
  const empty = await folderOf({ 'a/x.png': await picture(8, 8, 1), 'b/readme.txt': 'x', 'c/.keep': '' });
  await t.throwsAsync(ImageFolder.load(empty, { cacheDir }), { message: /^Found no images for classes b, c in .*: every class folder needs at least one image, with one of the extensions \.jpg, \.jpeg, \.png, \.webp/ });
  for (const [size, shown] of [[0, '0 of type number'], [1.5, '1.5 of type number'], ['32', "'32' of type string"]] as const) {
    await t.throwsAsync(ImageFolder.load(flat, { imageSize: size as number }), {
      instanceOf: TypeError, message: `Expected integer between 1 and 4096 for imageSize but received ${shown}`,
    });
  }
  await t.throwsAsync(ImageFolder.load(flat, { skipbad: true } as never), { message: /^Unknown option 'skipbad'/ });
  // One class is a dataset (as torchvision's); it is the trainer that needs two.
  const one = await ImageFolder.load(await folderOf({ 'only/x.png': await picture(8, 8, 1) }), { cacheDir, imageSize: 8 });
  t.deepEqual(one.classes, ['only']);
});

test('onProgress counts the files decoded this time', async (t) => {
  const root = await folderOf({ 'a/1.png': await picture(8, 8, 1), 'a/2.png': await picture(8, 8, 2), 'b/3.png': await picture(8, 8, 3) });
  const cacheDir = tempDir();
  const calls: [number, number][] = [];
  await ImageFolder.load(root, { cacheDir, imageSize: 8, onProgress: (d, n) => calls.push([d, n]) });
  t.deepEqual(calls, [[1, 3], [2, 3], [3, 3]]);
  calls.length = 0;
  await ImageFolder.load(root, { cacheDir, imageSize: 8, onProgress: (d, n) => calls.push([d, n]) });
  t.deepEqual(calls, [], 'nothing to decode');
});
