/** `npm run db:migrate`: applies prisma/migrations to DATABASE_URL (or the URL given as argument). */
import { applyMigrations } from '../db/schema-engine.js';
import { loadConfig } from '../config.js';

const url = process.argv[2] ?? loadConfig().databaseUrl;
const applied = await applyMigrations(url);
console.error(applied.length ? `[db] applied ${applied.join(', ')}` : '[db] no pending migrations');
