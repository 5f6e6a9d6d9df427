/**
 * Drops and recreates the database named by the URL given, connecting to the same server's
 * `postgres` database, so a run starts from nothing: `npm test` on its test database, the fuzz on
 * its own. State a run left behind (API keys above all: one active key makes every test API answer
 * 401) must not decide the next run, and the Postgres data directory outlives the checkout.
 */
import pg from 'pg';

const arg = process.argv[2];
if (!arg) throw new Error('usage: tsx scripts/db-recreate.ts postgresql://…/name');
const target = new URL(arg);
const name = decodeURIComponent(target.pathname.slice(1));
if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name ${JSON.stringify(name)}: lower-case letters, digits and _ only`);
const adminUrl = new URL(target);
adminUrl.pathname = '/postgres';
const admin = new pg.Client({ connectionString: adminUrl.toString() });
await admin.connect();
try {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
} finally {
  await admin.end();
}
console.error(`[db] recreated ${name}`);
