// Prints the OpenAPI document (GET /reuseid/openapi.json) to stdout, without a server or a database on disk:
//   npm run build && node scripts/openapi.mjs > openapi.json && npx @redocly/cli lint openapi.json
import { randomBytes } from 'node:crypto';
import { buildApp } from '../dist/app.js';
import { loadConfig } from '../dist/config.js';
import { createContext } from '../dist/context.js';
import { migrateToLatest, openStore } from '../dist/store/database.js';

const config = loadConfig({
  REUSEID_DATABASE_URL: 'sqlite::memory:',
  REUSEID_PUBLIC_URL: process.env.REUSEID_PUBLIC_URL ?? 'https://reuseid.example',
  REUSEID_SANDBOX: 'false',
  REUSEID_LOG_LEVEL: 'silent',
});
const store = openStore(config.databaseUrl);
try {
  await migrateToLatest(store.db);
  // The document seals nothing: a throwaway key is enough to build the context.
  const app = await buildApp(createContext({ config, store, masterKey: randomBytes(32) }));
  try {
    const response = await app.inject({ method: 'GET', url: '/reuseid/openapi.json' });
    if (response.statusCode !== 200) throw new Error(`GET /reuseid/openapi.json answered ${response.statusCode}`);
    process.stdout.write(`${JSON.stringify(JSON.parse(response.body), null, 2)}\n`);
  } finally {
    await app.close();
  }
} finally {
  await store.close();
}
