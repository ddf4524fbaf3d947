"""repr(float) of each number in a JSON array read from stdin, as a JSON array (test/repr.test.ts)."""
import json
import sys

print(json.dumps([repr(float(x)) for x in json.load(sys.stdin)]))
