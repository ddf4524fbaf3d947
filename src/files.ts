// Whole-file writes that a reader (or a crash) never sees half done.
import * as fs from 'node:fs';

let counter = 0;

/**
 * Writes `data` to `file` through a temporary file in the same folder, then
 * renames it over `file`: a reader sees the old contents or the new, never a
 * mix, and a failed write leaves no temporary file behind.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${counter++}`;
  try {
    await fs.promises.writeFile(tmp, data);
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
}
