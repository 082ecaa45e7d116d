import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { createContext, type AppContext } from './context.js';
import { startSweeper } from './flows/expiry.js';
import { createLogger } from './ops/logger.js';
import { startRetention } from './retention/job.js';
import { loadMasterKey } from './security/keyring.js';
import { migrateToLatest, openStore, redactUrl } from './store/database.js';

export interface RunningServer {
  app: FastifyInstance;
  ctx: AppContext;
  url: string;
  stop(): Promise<void>;
}

/** config → database → migrations → context → app → listen, plus the background work (sweeper, webhooks, retention, audit sequencer) and graceful shutdown. */
export async function startServer(config: Config): Promise<RunningServer> {
  const logger = createLogger(config.logLevel);
  const store = openStore(config.databaseUrl, {
    poolSize: config.databasePoolSize,
    namedStatements: config.databaseNamedStatements,
    exclusive: true,
    backgroundCheckpoints: true,
  });
  await migrateToLatest(store.db);
  const ctx = createContext({ config, store, masterKey: loadMasterKey(config), log: logger });
  // With Redis, counting starts on it rather than on the fallbacks (an unreachable Redis is logged, and not fatal).
  if (ctx.rateCounters.connect) await ctx.rateCounters.connect();
  // The step of migration 008 that needs the master key, which migrations never see.
  const sealedUrls = await ctx.webhooks.subscriptions.sealClearUrls();
  // The step of migration 010 that needs the master key: lookup hashes of the externalRefs stored before it.
  const hashedRefs = await ctx.users.hashExternalRefs(ctx.store.db);
  const app = await buildApp(ctx, logger);
  const url = await app.listen({ port: config.port, host: config.host });
  logger.info({ url, publicUrl: config.publicUrl, database: redactUrl(config.databaseUrl), sandbox: config.sandbox }, 'reuseid server listening');
  if (hashedRefs) logger.info({ hashedRefs }, 'hashed the externalRefs of users created before migration 010');
  if (sealedUrls) logger.info({ sealedUrls }, 'sealed the webhook URLs stored in clear before migration 008');
  if (config.sandbox) {
    logger.warn({ sandbox: true }, 'SANDBOX MODE: any device can state its own proofing outcome (REUSEID_SANDBOX=true). Never run this in production');
  }
  const stopSweeper = startSweeper(ctx, logger);
  const stopWebhooks = ctx.webhooks.worker.start(logger);
  const stopRetention = startRetention({ ...ctx, policies: ctx.retentionPolicies }, logger);
  const stopSequencer = ctx.auditSequencer.start(logger);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('shutting down: draining requests');
      // Readiness fails first; after the grace period (time for the load balancer to notice) new requests get 503.
      app.draining = true;
      await new Promise((resolve) => setTimeout(resolve, config.shutdownGraceSeconds * 1000));
      await stopSweeper();
      await stopRetention();
      await stopWebhooks();
      await stopSequencer();
      await app.close();
      // The items of the requests that finished while closing: chained now rather than by the next instance to run
      // (on SQLite, the next start), so that `audit verify` finds no stale tail after a clean stop.
      await ctx.auditSequencer.sequenceNow().catch((err: unknown) => logger.error({ err }, 'audit items left pending at shutdown'));
      await store.close();
      logger.info('stopped');
    })());
  return { app, ctx, url, stop };
}

/** Stops cleanly on SIGTERM/SIGINT: in-flight requests finish, new ones get 503, then the database closes. */
export function stopOnSignals(server: RunningServer): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      const hardStop = setTimeout(() => process.exit(1), 25_000);
      hardStop.unref();
      server.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}
