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
  /** Processes to start on this machine, one per rank (at least 1). */
  nproc: number;
  /** Machines in the job, each running launch() with the same nproc (1). */
  nnodes?: number;
  /** This machine's place among them, 0..nnodes-1; its ranks are nodeRank * nproc onwards (0). */
  nodeRank?: number;
  /** The address of the machine with node rank 0, where rank 0 hosts the TCPStore ('127.0.0.1'). */
  masterAddr?: string;
  /** The Node script each process runs. */
  script: string;
  /** Its arguments, the same for every rank. */
  args?: readonly string[];
  /** Rank 0's TCPStore port; a free port on 127.0.0.1 when omitted (one machine only). */
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
  /**
   * Exit codes that end a rank without failing the job ([0]); for example 130, which `torchbridge
   * train` returns when Ctrl-C stopped it after saving (the ranks stop together, and the others must
   * not be killed while rank 0 saves).
   */
  successCodes?: readonly number[];
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
 * all have exited 0 (or another of `successCodes`). When one fails, the others on this machine are stopped (SIGTERM, then SIGKILL
 * after `killGraceMs`) and the promise rejects with an Error naming the first rank that failed and
 * how (ranks on other machines then fail in their next collective). stderr of every rank is passed
 * through, each line prefixed with its rank when the job has more than one. For a job on several
 * machines, run launch() on each with the same nproc, nnodes, masterAddr and masterPort and its own nodeRank.
 */
export async function launch(options: LaunchOptions): Promise<RankExit[]> {
  const o = v.options(options, 'options', ['nproc', 'nnodes', 'nodeRank', 'masterAddr', 'script', 'args', 'masterPort', 'env', 'execArgv',
    'quietOtherRanks', 'output', 'killGraceMs', 'successCodes']);
  const nproc = v.integer(o.nproc, 'nproc', 1);
  const nnodes = o.nnodes === undefined ? 1 : v.integer(o.nnodes, 'nnodes', 1);
  const nodeRank = o.nodeRank === undefined ? 0 : v.integer(o.nodeRank, 'nodeRank', 0, nnodes - 1);
  const masterAddr = o.masterAddr === undefined ? '127.0.0.1' : v.string(o.masterAddr, 'masterAddr');
  if (nnodes > 1 && (o.masterPort === undefined || o.masterAddr === undefined)) {
    throw new TypeError('launch: a job on several machines (nnodes > 1) needs masterAddr and masterPort, the same on every machine');
  }
  const script = v.string(o.script, 'script');
  const args = o.args === undefined ? [] : v.stringList(o.args, 'args');
  const execArgv = o.execArgv === undefined ? [] : v.stringList(o.execArgv, 'execArgv');
  const quiet = o.quietOtherRanks === undefined ? true : v.boolean(o.quietOtherRanks, 'quietOtherRanks');
  const grace = o.killGraceMs === undefined ? 5000 : v.integer(o.killGraceMs, 'killGraceMs', 0);
  const successCodes = o.successCodes === undefined ? [0] : v.intList(o.successCodes, 'successCodes', 0);
  const extra = o.env === undefined ? {} : (v.object(o.env, 'env') as NodeJS.ProcessEnv);
  const output = o.output === undefined ? null : (v.object(o.output, 'output') as unknown as NodeJS.WritableStream);
  if (output !== null && typeof output.write !== 'function') throw v.invalid('writable stream', 'output', o.output);
  const port = o.masterPort === undefined ? await freePort() : v.integer(o.masterPort, 'masterPort', 1, 65535);

  const worldSize = nnodes * nproc;
  const first = nodeRank * nproc;
  const children: ChildProcess[] = [];
  const exits: (RankExit | null)[] = new Array(nproc).fill(null);
  let failure: string | null = null;
  let killTimer: NodeJS.Timeout | null = null;

  return new Promise((resolve, reject) => {
    let running = nproc;
    const alive = () => children.filter((c) => c.exitCode === null && c.signalCode === null);
    // The first rank to exit failing is named, and the others are stopped.
    const stopOthers = (exit: RankExit, spawnError?: string) => {
      if (failure !== null || (exit.code !== null && successCodes.includes(exit.code) && spawnError === undefined)) return;
      failure = `launch: rank ${exit.rank} of ${worldSize} failed (${spawnError ?? describe(exit)}); the other ranks were stopped`;
      for (const c of alive()) c.kill('SIGTERM');
      killTimer = setTimeout(() => alive().forEach((c) => c.kill('SIGKILL')), grace);
    };
    const finish = (exit: RankExit, spawnError?: string) => {
      if (exits[exit.rank - first] !== null) return;
      exits[exit.rank - first] = exit;
      running -= 1;
      stopOthers(exit, spawnError);
      if (running > 0) return;
      if (killTimer) clearTimeout(killTimer);
      if (failure !== null) reject(new Error(failure));
      else resolve(exits as RankExit[]);
    };

    for (let rank = 0; rank < nproc; rank++) {
      const env = {
        ...process.env, ...extra,
        RANK: String(first + rank), LOCAL_RANK: String(rank), WORLD_SIZE: String(worldSize), LOCAL_WORLD_SIZE: String(nproc),
        GROUP_RANK: String(nodeRank), MASTER_ADDR: masterAddr, MASTER_PORT: String(port),
      };
      const shown = first + rank === 0 || !quiet;
      const stdout = !shown ? 'ignore' : output === null ? 'inherit' : 'pipe';
      const child = spawn(process.execPath, [...execArgv, script, ...args], { env, stdio: ['ignore', stdout, 'pipe'] });
      children.push(child);
      if (stdout === 'pipe') child.stdout!.pipe(output!, { end: false });
      prefixLines(child, worldSize > 1 ? `[rank ${first + rank}] ` : '', output ?? process.stderr);
      // A failed spawn emits 'error' and may never emit 'exit'.
      child.on('error', (e) => finish({ rank: first + rank, code: null, signal: null }, e.message));
      // Which rank failed first is decided on 'exit' (a peer that fails because this rank's
      // connections closed may finish writing its output sooner); the job ends on 'close', once
      // every rank's output has arrived.
      child.on('exit', (code, signal) => stopOthers({ rank: first + rank, code, signal }));
      child.on('close', (code, signal) => finish({ rank: first + rank, code, signal }));
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
