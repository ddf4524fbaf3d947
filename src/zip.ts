// Reads the entry names of a zip file's central directory (torch.save files are
// zips), so a hostile archive is refused before anything else reads it.
import * as fs from 'node:fs';

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = fs.readSync(fd, buf, 0, length, position);
  return buf.subarray(0, n);
}

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
}

/** Entries of the zip at `file`, or null when it is not a zip. Throws on a malformed directory. */
export function zipEntries(file: string): ZipEntry[] | null {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size < 22 || readAt(fd, 0, 2).toString('latin1') !== 'PK') return null;
    const tailLen = Math.min(size, 22 + 65535 + 20);
    const tail = readAt(fd, size - tailLen, tailLen);
    let at = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD) {
        at = i;
        break;
      }
    }
    if (at < 0) throw new Error('no zip end-of-central-directory record (truncated file?)');
    let count = tail.readUInt16LE(at + 10);
    let cdSize = tail.readUInt32LE(at + 12);
    let cdOffset = tail.readUInt32LE(at + 16);
    if ((cdOffset === 0xffffffff || count === 0xffff || cdSize === 0xffffffff) && at >= 20 && tail.readUInt32LE(at - 20) === ZIP64_LOCATOR) {
      const z64 = readAt(fd, Number(tail.readBigUInt64LE(at - 20 + 8)), 56);
      if (z64.length < 56 || z64.readUInt32LE(0) !== ZIP64_EOCD) throw new Error('bad zip64 end-of-central-directory record');
      count = Number(z64.readBigUInt64LE(32));
      cdSize = Number(z64.readBigUInt64LE(40));
      cdOffset = Number(z64.readBigUInt64LE(48));
    }
    if (cdOffset + cdSize > size) throw new Error(`zip central directory (${cdSize} bytes at ${cdOffset}) lies past the end of the ${size}-byte file`);
    const cd = readAt(fd, cdOffset, cdSize);
    const entries: ZipEntry[] = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL) throw new Error(`zip central directory entry ${i} is malformed`);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      const entry: ZipEntry = {
        name: cd.toString('utf8', p + 46, p + 46 + nameLen),
        method: cd.readUInt16LE(p + 10),
        compressedSize: cd.readUInt32LE(p + 20),
        size: cd.readUInt32LE(p + 24),
      };
      // Sizes that don't fit 32 bits are in the zip64 extra field (id 1): size first, then compressed size.
      for (let x = p + 46 + nameLen; x + 4 <= p + 46 + nameLen + extraLen;) {
        const id = cd.readUInt16LE(x);
        const len = cd.readUInt16LE(x + 2);
        if (id === 1) {
          let y = x + 4;
          if (entry.size === 0xffffffff && y + 8 <= x + 4 + len) { entry.size = Number(cd.readBigUInt64LE(y)); y += 8; }
          if (entry.compressedSize === 0xffffffff && y + 8 <= x + 4 + len) entry.compressedSize = Number(cd.readBigUInt64LE(y));
        }
        x += 4 + len;
      }
      entries.push(entry);
      p += 46 + nameLen + extraLen + commentLen;
    }
    return entries;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Throws when an entry name is absolute or climbs out with '..', or when an
 * entry declares more data than the file can hold (a zip bomb).
 */
export function checkZipEntries(file: string): void {
  const entries = zipEntries(file);
  if (!entries) return;
  const fileSize = fs.statSync(file).size;
  for (const { name, method, compressedSize, size } of entries) {
    const expands = method === 0 ? size !== compressedSize : size > 1032 * compressedSize + (1 << 20);
    if (compressedSize > fileSize || expands) {
      throw new Error(`load: refusing ${file}: archive entry '${name}' declares ${size} bytes from ${compressedSize} stored bytes in a ${fileSize}-byte file`);
    }
    const parts = name.split(/[\\/]/);
    if (name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name) || parts.includes('..')) {
      throw new Error(`load: refusing ${file}: archive entry '${name}' points outside the archive`);
    }
  }
}
