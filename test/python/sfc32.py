"""torchbridge's data Generator (src/data/random.ts) in Python: sfc32 seeded by splitmix32.

The Python twins use it to draw the same data order as torchbridge's DataLoader,
so that a run differs from torchbridge's only in arithmetic.
"""
M32 = 0xFFFFFFFF
TWO_32 = 2 ** 32


def _imul(a, b):
    return (a * b) & M32


def _splitmix32(x):
    nxt = (x + 0x9E3779B9) & M32
    z = nxt
    z = _imul(z ^ (z >> 16), 0x85EBCA6B)
    z = _imul(z ^ (z >> 13), 0xC2B2AE35)
    return nxt, (z ^ (z >> 16)) & M32


class Generator:
    def __init__(self, seed=0):
        x = (seed & M32) ^ _imul(seed // TWO_32, 0x27D4EB2D)
        words = []
        for _ in range(4):
            x, out = _splitmix32(x)
            words.append(out)
        self.a, self.b, self.c, self.d = words
        for _ in range(12):
            self.next_uint32()

    def next_uint32(self):
        t = (self.a + self.b + self.d) & M32
        self.d = (self.d + 1) & M32
        self.a = self.b ^ (self.b >> 9)
        self.b = (self.c + (self.c << 3)) & M32
        self.c = ((self.c << 21) | (self.c >> 11)) & M32
        self.c = (self.c + t) & M32
        return t

    def next(self):
        return self.next_uint32() / TWO_32

    def int(self, n):
        if n == 1:
            return 0
        limit = TWO_32 - (TWO_32 % n)
        x = self.next_uint32()
        while x >= limit:
            x = self.next_uint32()
        return x % n

    def shuffle(self, n):
        out = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.int(i + 1)
            out[i], out[j] = out[j], out[i]
        return out


if __name__ == "__main__":
    # For test/parity/random_parity.test.ts: per seed, a shuffle of 1000, then
    # five raw draws, then int(3) and int(2**32 - 5) (a case that rejects often).
    import json
    import sys

    out = {}
    for s in sys.argv[1:]:
        g = Generator(int(s))
        out[s] = [g.shuffle(1000), [g.next_uint32() for _ in range(5)], g.int(3), g.int(2 ** 32 - 5)]
    print(json.dumps(out))
