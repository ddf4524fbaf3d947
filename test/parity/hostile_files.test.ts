// Files from elsewhere: loading never executes code, and each hostile file
// gets a clear Error instead of a crash or a silent half-load.
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { load } from '../../src/serialize';
import { Tensor } from '../../src/tensor';
import { pythonScript, runPython, tempDir } from '../helpers/python';

const dir = tempDir('torchbridge-hostile-');
const marker = path.join(dir, 'pwned');
test.before(() => {
  runPython(pythonScript('hostile_files.py'), [dir, marker]);
});
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a valid torch.save file loads', async (t) => {
  const v = (await load(path.join(dir, 'good.pt'))) as Record<string, Tensor>;
  t.deepEqual(v.w.toArray(), [1, 1]);
});

test('a pickle naming os.system is refused and runs nothing', async (t) => {
  const e = await t.throwsAsync(load(path.join(dir, 'evil_system.pt')));
  t.regex(e!.message, /^load: .*unknown type posix\.system/);
  t.false(fs.existsSync(marker), 'the shell command did not run');
});

test('a zip entry that climbs out with ../ is refused', async (t) => {
  const e = await t.throwsAsync(load(path.join(dir, 'slip.pt')));
  t.regex(e!.message, /^load: refusing archive record '\.\.\/\.\.\/\.\.\/escaped\.txt': it points outside the archive \(file .*slip\.pt\)$/);
  t.false(fs.existsSync(path.join(dir, '..', 'escaped.txt')));
});

test('a giant declared size is refused', async (t) => {
  const e = await t.throwsAsync(load(path.join(dir, 'giant_shape.pt')));
  t.regex(e!.message, /^load: .*require a storage of at least 4398046511104 bytes, but storage only has 8 bytes/);
});

test('a truncated file is refused with the file name', async (t) => {
  const e = await t.throwsAsync(load(path.join(dir, 'truncated.pt')));
  t.regex(e!.message, /^load: .*truncated\.pt/);
});

test('a stored zip entry that declares more bytes than it stores (a zip bomb) is refused', async (t) => {
  // libtorch's reader (miniz) refuses a stored entry whose sizes disagree, before reading it.
  const e = await t.throwsAsync(load(path.join(dir, 'bomb.pt')));
  t.regex(e!.message, /^load: PytorchStreamReader failed reading zip archive: invalid header or archive is corrupted\..*\(file .*bomb\.pt\)$/);
});

test('a deflated zip entry that declares more than the file could inflate to (a zip bomb) is refused', async (t) => {
  const e = await t.throwsAsync(load(path.join(dir, 'deflate_bomb.pt')));
  t.regex(e!.message, /^load: refusing archive record 'data\.pkl': it declares 2147483647 bytes in a \d+-byte file \(file .*deflate_bomb\.pt\)$/);
});
