/**
 * A fixed pool of worker threads with a bounded queue and a time limit per job, so that face models never run on
 * the event loop and a burst of comparisons cannot grow memory or latency without bound:
 * - at most `size + queue` jobs are admitted at once; one more is refused at once with `face_matcher_busy` (503,
 *   Retry-After), before any work is done;
 * - each job's time limit runs from when a worker takes it, so a cold start (the model loading) or a replaced worker
 *   does not eat the limits of the jobs waiting for it; a job still running at its limit gets `face_match_timeout`,
 *   and its worker is terminated (a model call cannot be interrupted any other way) and replaced. What a caller waits
 *   is still bounded: at most workers + queue jobs are ahead of it, each bounded;
 * - a worker that dies fails its job and is replaced; one that dies while loading fails the jobs waiting for it,
 *   and the next job starts a new one.
 *
 * The worker script answers `{ type: 'ready', info }` once loaded, then `{ ok, output | message }` per job (one at a time).
 */
import { Worker } from 'node:worker_threads';
import { errors } from '../shared/errors.js';

export interface WorkerPoolOptions {
  /** The worker's module: a `.js` file (compiled) or a `.ts` file (tests, tsx), loaded through tsx. */
  script: URL;
  size: number;
  queue: number;
  timeoutMs: number;
}

interface Job<In, Out> {
  input: In;
  transfer: ArrayBuffer[];
  resolve(output: Out): void;
  reject(error: Error): void;
  timer?: NodeJS.Timeout;
  slot?: Slot<In, Out>;
}

interface Slot<In, Out> {
  worker: Worker;
  ready: boolean;
  job?: Job<In, Out>;
}

type Reply = { type: 'ready'; info: unknown } | { ok: true; output: unknown } | { ok: false; message: string };

export class WorkerPool<In, Out, Info = unknown> {
  private readonly slots: Slot<In, Out>[] = [];
  private readonly waiting: Job<In, Out>[] = [];
  private admitted = 0;
  private closed = false;
  private info: Info | undefined;
  private readonly infoWaiters: Array<{ resolve(info: Info): void; reject(error: Error): void }> = [];
  /** Mean run time of recent jobs, to say when a refused caller may come back. */
  private meanRunMs = 1000;

  constructor(private readonly options: WorkerPoolOptions) {}

  /** Starts the workers (they load in the background); jobs start them too. */
  start(): void {
    if (this.closed) return;
    while (this.slots.length < this.options.size) this.slots.push(this.spawn());
  }

  /** What the first worker reported once loaded (the model name and hash). */
  async ready(): Promise<Info> {
    this.start();
    if (this.info !== undefined) return this.info;
    return new Promise((resolve, reject) => this.infoWaiters.push({ resolve, reject }));
  }

  run(input: In, transfer: ArrayBuffer[] = []): Promise<Out> {
    if (this.closed) return Promise.reject(errors.serviceUnavailable('The face matcher is shutting down.'));
    if (this.admitted >= this.options.size + this.options.queue) {
      const retryAfter = (this.meanRunMs * (this.admitted / this.options.size)) / 1000;
      return Promise.reject(errors.faceMatcherBusy(retryAfter));
    }
    this.start();
    this.admitted++;
    return new Promise<Out>((resolve, reject) => {
      const job: Job<In, Out> = {
        input,
        transfer,
        resolve: (output) => this.settle(job, () => resolve(output)),
        reject: (error) => this.settle(job, () => reject(error)),
      };
      this.waiting.push(job);
      this.dispatch();
    });
  }

  /** Stops every worker; jobs not finished are refused. */
  async close(): Promise<void> {
    this.closed = true;
    const closing = errors.serviceUnavailable('The face matcher is shutting down.');
    for (const job of this.waiting.splice(0)) job.reject(closing);
    for (const waiter of this.infoWaiters.splice(0)) waiter.reject(closing);
    const slots = this.slots.splice(0);
    for (const slot of slots) slot.job?.reject(closing);
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  private settle(job: Job<In, Out>, finish: () => void): void {
    clearTimeout(job.timer);
    this.admitted--;
    finish();
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (!slot.ready || slot.job) continue;
      const job = this.waiting.shift();
      if (!job) return;
      slot.job = job;
      job.slot = slot;
      job.timer = setTimeout(() => this.timeOut(job), this.options.timeoutMs);
      const started = performance.now();
      const resolve = job.resolve;
      job.resolve = (output) => {
        this.meanRunMs = 0.8 * this.meanRunMs + 0.2 * (performance.now() - started);
        resolve(output);
      };
      slot.worker.postMessage(job.input, job.transfer);
    }
  }

  private timeOut(job: Job<In, Out>): void {
    job.reject(errors.faceMatchTimeout());
    if (job.slot) this.replace(job.slot);
  }

  private spawn(): Slot<In, Out> {
    const worker = startWorker(this.options.script);
    const slot: Slot<In, Out> = { worker, ready: false };
    worker.on('message', (reply: Reply) => this.onReply(slot, reply));
    worker.on('error', (error) => this.onDeath(slot, error));
    worker.on('exit', (code) => this.onDeath(slot, new Error(`the face worker exited with code ${code}`)));
    return slot;
  }

  private onReply(slot: Slot<In, Out>, reply: Reply): void {
    if ('type' in reply) {
      slot.ready = true;
      if (this.info === undefined) {
        this.info = reply.info as Info;
        for (const waiter of this.infoWaiters.splice(0)) waiter.resolve(this.info);
      }
    } else {
      const job = slot.job;
      slot.job = undefined;
      if (job) {
        job.slot = undefined;
        if (reply.ok) job.resolve(reply.output as Out);
        else job.reject(new Error(`face worker: ${reply.message}`));
      }
    }
    this.dispatch();
  }

  /** A worker died: its job fails; it is replaced if it had loaded, else the jobs waiting for it fail too. */
  private onDeath(slot: Slot<In, Out>, error: Error): void {
    const index = this.slots.indexOf(slot);
    if (index < 0) return;
    this.slots.splice(index, 1);
    slot.job?.reject(new Error(`the face worker stopped: ${error.message}`));
    if (this.closed) return;
    if (slot.ready) {
      this.slots.push(this.spawn());
    } else if (this.slots.length === 0) {
      const failure = new Error(`the face worker could not start: ${error.message}`);
      for (const job of this.waiting.splice(0)) job.reject(failure);
      for (const waiter of this.infoWaiters.splice(0)) waiter.reject(failure);
    }
  }

  private replace(slot: Slot<In, Out>): void {
    const index = this.slots.indexOf(slot);
    if (index < 0) return;
    this.slots.splice(index, 1);
    void slot.worker.terminate();
    if (!this.closed) this.slots.push(this.spawn());
  }
}

/**
 * Compiled (`dist/`), the worker is the `.js` module itself. From TypeScript sources (vitest, tsx), Node cannot start a
 * `.ts` worker and a worker's `--import tsx` is not honoured for its entry, so a one-line bootstrap imports it
 * through tsx's API; tsx is a development dependency and is never loaded by the compiled server.
 */
function startWorker(script: URL): Worker {
  if (!script.pathname.endsWith('.ts')) return new Worker(script);
  const tsx = import.meta.resolve('tsx/esm/api');
  const href = JSON.stringify(script.href);
  return new Worker(`import(${JSON.stringify(tsx)}).then((tsx) => tsx.tsImport(${href}, ${href}))`, { eval: true });
}

/** The module named `name` beside `moduleUrl`, with the same extension (`.ts` in sources, `.js` once compiled). */
export function siblingModule(moduleUrl: string, name: string): URL {
  const extension = moduleUrl.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${extension}`, moduleUrl);
}
