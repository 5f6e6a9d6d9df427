/**
 * Drops and recreates the database named by the URL given, so a run starts from nothing: `npm test`
 * on its test database, the fuzz on its own. State a run left behind (API keys above all: one
 * active key makes every test API answer 401) must not decide the next run, and the Postgres data
 * directory outlives the checkout.
 */
import { recreateDatabase } from '../db/recreate.js';

const url = process.argv[2];
if (!url) throw new Error('usage: tsx scripts/db-recreate.ts postgresql://…/name');
await recreateDatabase(url);
console.error(`[db] recreated ${new URL(url).pathname.slice(1)}`);
