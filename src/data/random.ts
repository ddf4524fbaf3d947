// A small seeded PRNG for data shuffling and augmentation choices.
//
// It is separate from libtorch's generator on purpose: the choices are made in
// JavaScript, can be saved in a checkpoint as four numbers, and can be replayed
// exactly through the per-image transforms (or in Python, from the recorded choices).
// Algorithm: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit
// state), seeded by splitmix32 so that nearby seeds give unrelated streams.
import * as v from '../validate';

const TWO_32 = 2 ** 32;

// splitmix32: one step of a well-mixed 32-bit sequence, used only for seeding.
function splitmix32(x: number): [number, number] {
  const next = (x + 0x9e3779b9) >>> 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return [next, (z ^ (z >>> 16)) >>> 0];
}

/**
 * A small seeded random number generator (sfc32) for data shuffling and augmentation choices, as a
 * `torch.Generator` dedicated to the data. It is separate from libtorch's generator on purpose: its
 * state is four numbers that a checkpoint saves, and its choices can be replayed through the per-image
 * transforms. The same seed always gives the same stream.
 */
export class Generator {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  /** seed: a non-negative safe integer; the same seed always gives the same stream. */
  constructor(seed = 0) {
    this.seed(seed);
  }

  /** Restarts the stream from `seed`. */
  seed(seed: number): this {
    v.integer(seed, 'seed', 0);
    // Fold the bits above 32 in, so that seeds up to 2^53 stay distinct.
    let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / TWO_32), 0x27d4eb2d);
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      let out: number;
      [x, out] = splitmix32(x);
      words.push(out);
    }
    [this.a, this.b, this.c, this.d] = words;
    // sfc32 recommends discarding the first outputs so the state mixes fully.
    for (let i = 0; i < 12; i++) this.nextUint32();
    return this;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = (this.b ^ (this.b >>> 9)) >>> 0;
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A uniform number in [0, 1), with 32 random bits. */
  next(): number {
    return this.nextUint32() / TWO_32;
  }

  /** A uniform integer in [0, n), without modulo bias. n is 1 to 2^32. */
  int(n: number): number {
    v.integer(n, 'n', 1, TWO_32);
    if (n === 1) return 0;
    // Reject the top partial range so every residue is equally likely.
    const limit = TWO_32 - (TWO_32 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** A uniform random permutation of 0..n-1 (Fisher-Yates). */
  shuffle(n: number): Int32Array {
    v.integer(n, 'n', 0, 2 ** 31 - 1);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = out[i];
      out[i] = out[j];
      out[j] = t;
    }
    return out;
  }

  /** The full state as four unsigned 32-bit integers, for checkpoints. */
  state(): number[] {
    return [this.a, this.b, this.c, this.d];
  }

  /** Restores a state from state(); the stream continues exactly where it was. */
  setState(state: number[]): this {
    if (!Array.isArray(state) || state.length !== 4 || !state.every((x) => v.isInteger(x) && x >= 0 && x < TWO_32)) {
      throw v.invalid('array of 4 unsigned 32-bit integers', 'state', state);
    }
    [this.a, this.b, this.c, this.d] = state;
    return this;
  }

  /** An independent copy with the same state. */
  clone(): Generator {
    return new Generator().setState(this.state());
  }
}
