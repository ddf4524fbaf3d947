// Child processes for the distributed tests: each rank in its own process, every one
// killed after a time limit, so that no test can hang on a rank that never returns.
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';

/** The rank script (test/fixtures/distributed-rank.ts, compiled). */
export const rankScript = path.join(__dirname, '..', 'fixtures', 'distributed-rank.js');

/** A TCP port that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** How a rank's process ended. */
export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Its stdout's lines that parse as JSON. */
  results: Record<string, unknown>[];
  stderr: string;
  /** Date.now() when it ended. */
  endedAt: number;
  /** Whether the time limit killed it. */
  timedOut: boolean;
}

/** A running rank. */
export interface Rank {
  ended: Promise<Ended>;
  /** Resolves with the first JSON line from stdout that has `key`. */
  line(key: string): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts `command args` with `env` added; SIGKILLs it after limitMs. */
export function startRank(command: string, args: string[], limitMs: number, env: NodeJS.ProcessEnv = {}): Rank {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const results: Record<string, unknown>[] = [];
  const waiters: { key: string; resolve: (r: Record<string, unknown>) => void }[] = [];
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, limitMs);
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    let nl;
    while ((nl = stdout.indexOf('\n')) >= 0) {
      const text = stdout.slice(0, nl);
      stdout = stdout.slice(nl + 1);
      try {
        const r = JSON.parse(text) as Record<string, unknown>;
        results.push(r);
        for (const w of waiters.filter((x) => x.key in r)) w.resolve(r);
      } catch {
        // not a result line (a warning from torch, say)
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const ended = new Promise<Ended>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, results, stderr, endedAt: Date.now(), timedOut });
    });
  });
  return {
    ended,
    line: (key) => {
      const seen = results.find((r) => key in r);
      if (seen) return Promise.resolve(seen);
      return Promise.race([
        new Promise<Record<string, unknown>>((resolve) => waiters.push({ key, resolve })),
        ended.then((e) => { throw new Error(`the rank ended (code ${e.code}, signal ${e.signal}) before printing '${key}':\n${e.stderr}`); }),
      ]);
    },
    kill: (signal = 'SIGKILL') => { child.kill(signal); },
  };
}

/** Starts the torchbridge rank script: SCENARIO RANK WORLD_SIZE PORT TIMEOUT_MS. */
export function startNodeRank(scenario: string, rank: number, worldSize: number, port: number, timeoutMs: number, limitMs: number): Rank {
  return startRank(process.execPath, [rankScript, scenario, String(rank), String(worldSize), String(port), String(timeoutMs)], limitMs);
}
