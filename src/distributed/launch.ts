// Local processes for one data-parallel job, as torchrun --standalone starts them:
// N copies of a Node script, each with torchrun's environment (RANK, WORLD_SIZE,
// LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT) so that initProcessGroup
// needs no arguments. Like torchrun's agent, the first rank to fail stops the
// others: a rank blocked in a collective with a dead peer would otherwise wait
// for the process group's timeout.
import { ChildProcess, spawn } from 'node:child_process';
import * as net from 'node:net';
import * as v from '../validate';

/** Options of {@link launch}. */
export interface LaunchOptions {
  /** Processes to start, one per rank (at least 1). */
  nproc: number;
  /** The Node script each process runs. */
  script: string;
  /** Its arguments, the same for every rank. */
  args?: readonly string[];
  /** Rank 0's TCPStore port; a free port on 127.0.0.1 when omitted. */
  masterPort?: number;
  /** Extra environment for every rank (added to this process's). */
  env?: NodeJS.ProcessEnv;
  /** Arguments for Node itself, before the script (for example `--require ts-node/register`). */
  execArgv?: readonly string[];
  /** Rank 0's stdout goes to this process's stdout; the other ranks' is dropped (true). */
  quietOtherRanks?: boolean;
  /**
   * Where rank 0's stdout and every rank's stderr lines go; by default rank 0 writes to this
   * process's stdout itself (a terminal stays a terminal, for progress bars) and stderr lines go
   * to process.stderr.
   */
  output?: NodeJS.WritableStream;
  /** After a rank fails, how long the others get to exit on SIGTERM before SIGKILL (5000 ms). */
  killGraceMs?: number;
}

/** How one rank ended. */
export interface RankExit {
  /** The rank. */
  rank: number;
  /** Its exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, if any. */
  signal: NodeJS.Signals | null;
}

/** A port that was free on 127.0.0.1 a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

const describe = (e: RankExit) => (e.signal ? `signal ${e.signal}` : `exit code ${e.code}`);

/**
 * Runs `script` in `nproc` local processes, one per rank, and resolves with each rank's exit once
 * all have exited 0. When one fails, the others are stopped (SIGTERM, then SIGKILL after
 * `killGraceMs`) and the promise rejects with an Error naming the first rank that failed and how.
 * stderr of every rank is passed through, each line prefixed with its rank when nproc > 1.
 */
export async function launch(options: LaunchOptions): Promise<RankExit[]> {
  const o = v.options(options, 'options', ['nproc', 'script', 'args', 'masterPort', 'env', 'execArgv', 'quietOtherRanks', 'output', 'killGraceMs']);
  const nproc = v.integer(o.nproc, 'nproc', 1);
  const script = v.string(o.script, 'script');
  const args = o.args === undefined ? [] : v.stringList(o.args, 'args');
  const execArgv = o.execArgv === undefined ? [] : v.stringList(o.execArgv, 'execArgv');
  const quiet = o.quietOtherRanks === undefined ? true : v.boolean(o.quietOtherRanks, 'quietOtherRanks');
  const grace = o.killGraceMs === undefined ? 5000 : v.integer(o.killGraceMs, 'killGraceMs', 0);
  const extra = o.env === undefined ? {} : (v.object(o.env, 'env') as NodeJS.ProcessEnv);
  const output = o.output === undefined ? null : (v.object(o.output, 'output') as unknown as NodeJS.WritableStream);
  if (output !== null && typeof output.write !== 'function') throw v.invalid('writable stream', 'output', o.output);
  const port = o.masterPort === undefined ? await freePort() : v.integer(o.masterPort, 'masterPort', 1, 65535);

  const children: ChildProcess[] = [];
  const exits: (RankExit | null)[] = new Array(nproc).fill(null);
  let failure: string | null = null;
  let killTimer: NodeJS.Timeout | null = null;

  return new Promise((resolve, reject) => {
    let running = nproc;
    const alive = () => children.filter((c) => c.exitCode === null && c.signalCode === null);
    const finish = (exit: RankExit, spawnError?: string) => {
      if (exits[exit.rank] !== null) return;
      exits[exit.rank] = exit;
      running -= 1;
      if (failure === null && (exit.code !== 0 || spawnError !== undefined)) {
        failure = `launch: rank ${exit.rank} of ${nproc} failed (${spawnError ?? describe(exit)}); the other ranks were stopped`;
        for (const c of alive()) c.kill('SIGTERM');
        killTimer = setTimeout(() => alive().forEach((c) => c.kill('SIGKILL')), grace);
      }
      if (running > 0) return;
      if (killTimer) clearTimeout(killTimer);
      if (failure !== null) reject(new Error(failure));
      else resolve(exits as RankExit[]);
    };

    for (let rank = 0; rank < nproc; rank++) {
      const env = {
        ...process.env, ...extra,
        RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: String(nproc), LOCAL_WORLD_SIZE: String(nproc),
        MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port),
      };
      const shown = rank === 0 || !quiet;
      const stdout = !shown ? 'ignore' : output === null ? 'inherit' : 'pipe';
      const child = spawn(process.execPath, [...execArgv, script, ...args], { env, stdio: ['ignore', stdout, 'pipe'] });
      children.push(child);
      if (stdout === 'pipe') child.stdout!.pipe(output!, { end: false });
      prefixLines(child, nproc > 1 ? `[rank ${rank}] ` : '', output ?? process.stderr);
      // A failed spawn emits 'error' and may never emit 'exit'.
      child.on('error', (e) => finish({ rank, code: null, signal: null }, e.message));
      // 'close', not 'exit': the rank's output has all arrived by then.
      child.on('close', (code, signal) => finish({ rank, code, signal }));
    }
  });
}

/** Passes a child's stderr through line by line, each line prefixed. */
function prefixLines(child: ChildProcess, prefix: string, to: NodeJS.WritableStream): void {
  let pending = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) to.write(`${prefix}${line}\n`);
  });
  child.stderr!.on('end', () => {
    if (pending) to.write(`${prefix}${pending}\n`);
  });
}
