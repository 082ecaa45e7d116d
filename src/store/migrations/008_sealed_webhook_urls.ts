import type { Kysely } from 'kysely';

/**
 * Webhook target URLs sealed at rest: they often carry tokens in their path or query string. The sealed copy goes in
 * `url_sealed` (server cipher, like the subscription secrets); `url` stays for the rows written before, and holds ''
 * once a row is sealed. It keeps its NOT NULL: relaxing it would mean rebuilding the table on SQLite, whose foreign
 * keys would cascade the drop to the delivery log.
 *
 * A migration cannot seal: it runs without the master key (`reuseid migrate` never loads it). The server seals the
 * rows still in clear at every start, right after migrating (WebhookSubscriptions.sealClearUrls), and until then
 * reads such a row's clear URL, so deliveries never stop.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('webhook_subscriptions').addColumn('url_sealed', 'text').execute();
}

/** Refused once a URL is sealed: without the key the clear column cannot be restored, and the URL would be lost. */
export async function down(db: Kysely<any>): Promise<void> {
  const sealed = await db.selectFrom('webhook_subscriptions').select('id').where('url_sealed', 'is not', null).limit(1).executeTakeFirst();
  if (sealed) throw new Error('008_sealed_webhook_urls cannot be undone: webhook URLs are sealed, and dropping the column would lose them');
  await db.schema.alterTable('webhook_subscriptions').dropColumn('url_sealed').execute();
}
