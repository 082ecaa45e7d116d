import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the worker checkpoints. */
export const CHECKPOINT_INTERVAL_MS = 100;
/**
 * The automatic checkpoint stays on the server's connection as a backstop, at this many WAL pages (about 40 MB) rather
 * than SQLite's 1,000: it runs only if the worker falls behind or stops.
 */
export const BACKSTOP_CHECKPOINT_PAGES = 10_000;

// The worker is a few lines of CommonJS evaluated in its thread; it opens its own connection with the same driver.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 100');
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or failing now: the next tick tries again, and the backstop checkpoint bounds the WAL meanwhile.
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  process.exit(0); // in a worker, ends this thread only
});
`;

/**
 * WAL checkpoints off the event loop (SQLite, the server's store). SQLite's automatic checkpoint runs inside the
 * commit that crosses 1,000 WAL pages, on the connection that committed: the server's only connection, on its event
 * loop. It copies the WAL into the database file and syncs it, and under a Start load one commit in twenty took
 * 5–26 ms for it, two thirds of all commit time (profiled; README "Capacity"), while every request waited. A worker
 * thread with a connection of its own now checkpoints every CHECKPOINT_INTERVAL_MS: PASSIVE, so it copies what it can
 * and never blocks the writer, which goes on appending to the WAL meanwhile. SQLite restarts the WAL from its start
 * only after a checkpoint that caught up, which under steady writes is the backstop's: so the `-wal` file grows to
 * about BACKSTOP_CHECKPOINT_PAGES and stays that size. Returns the function that stops the worker (after one last
 * checkpoint).
 */
export function startBackgroundCheckpoints(path: string, intervalMs = CHECKPOINT_INTERVAL_MS): () => Promise<void> {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, driver, intervalMs } });
  worker.unref();
  // A worker that could not start leaves the backstop checkpoint in charge: slower commits now and then, nothing lost.
  worker.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return async () => {
    // Referenced again while it stops: otherwise a process with nothing else left to do exits before the worker has.
    worker.ref();
    worker.postMessage('stop');
    await exited;
  };
}
