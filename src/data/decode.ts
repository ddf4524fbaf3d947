// Image files to square RGB pixels, with sharp: the one decoder that ImageFolder
// (training) and Classifier (prediction) share, so that a model sees its images
// prepared the same way in both. sharp is loaded on first use, so programs that
// never decode an image never load libvips.

type Sharp = typeof import('sharp').default;
let sharpModule: Sharp | undefined;
function sharp(): Sharp {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return (sharpModule ??= require('sharp') as Sharp);
}

/** The formats decoded: sharp reads more (SVG, TIFF, GIF, ...), but these are the ones promised. */
const FORMATS = ['png', 'jpeg', 'webp'];
/** File name endings ImageFolder collects (lower-cased): torchvision's IMG_EXTENSIONS that are PNG, JPEG or WebP. */
export const IMAGE_EXTENSIONS: readonly string[] = Object.freeze(['.jpg', '.jpeg', '.png', '.webp']);
/** What an undecodable image should have been. */
export const EXPECTED_FORMATS = 'expected a PNG, JPEG or WebP image';

/** libvips' messages can span lines and repeat them; one line of each is enough. */
export function oneLine(e: unknown): string {
  const lines = String((e as Error)?.message ?? e).split('\n').map((l) => l.trim()).filter(Boolean);
  return [...new Set(lines)].join('; ');
}

/** A decoding failure; the message is sharp's (or says which format the image is), on one line. */
export class DecodeFailure extends Error {}

/**
 * Decodes a PNG, JPEG or WebP file's bytes to size x size RGB, CHW uint8: upright as its EXIF
 * orientation says, alpha dropped, sRGB, the shorter side scaled to `size` (sharp's default
 * lanczos3 filter) and the centre cropped, as torchvision's Resize(size) + CenterCrop(size) up to
 * the filter. A size x size image passes through unchanged. Rejects with a DecodeFailure.
 */
export async function decodeSquare(bytes: Uint8Array, size: number): Promise<Uint8Array> {
  let format: string | undefined;
  try {
    format = (await sharp()(bytes).metadata()).format;
  } catch (e) {
    throw new DecodeFailure(oneLine(e));
  }
  if (format === undefined || !FORMATS.includes(format)) {
    throw new DecodeFailure(`it is ${format ? `a ${format.toUpperCase()} image` : 'in an unknown format'}`);
  }
  let data: Buffer;
  try {
    const out = await sharp()(bytes).autoOrient().removeAlpha().toColourspace('srgb')
      .resize(size, size, { fit: 'cover', position: 'centre' }).raw().toBuffer({ resolveWithObject: true });
    if (out.info.channels !== 3 || out.info.width !== size || out.info.height !== size) {
      throw new Error(`decoded to ${out.info.width}x${out.info.height} with ${out.info.channels} channels, not ${size}x${size} RGB`);
    }
    data = out.data;
  } catch (e) {
    throw new DecodeFailure(oneLine(e));
  }
  // HWC (sharp) to CHW (the datasets' layout).
  const plane = size * size;
  const chw = new Uint8Array(3 * plane);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) chw[c * plane + p] = data[p * 3 + c];
  return chw;
}
