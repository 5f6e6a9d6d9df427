/**
 * Prisma's schema engine built to WebAssembly. The Prisma CLI wants a native engine it downloads at
 * install time, which fails offline; the wasm build is the same engine and needs no download.
 */
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import * as bg from '@prisma/schema-engine-wasm/schema_engine_bg';
import type { MigrationList, SchemaEngine } from '@prisma/schema-engine-wasm';

const require = createRequire(import.meta.url);
const PRISMA_DIR = join(dirname(new URL(import.meta.url).pathname), '..', 'prisma');
export const MIGRATIONS_DIR = join(PRISMA_DIR, 'migrations');
export const SCHEMA_PATH = join(PRISMA_DIR, 'schema.prisma');

let instantiated = false;

/** Node 20 cannot import .wasm as an ES module, so instantiate it by hand once per process. */
async function loadWasm(): Promise<void> {
  if (instantiated) return;
  const pkgDir = dirname(require.resolve('@prisma/schema-engine-wasm'));
  const module = await WebAssembly.compile(await readFile(join(pkgDir, 'schema_engine_bg.wasm')));
  const instance = new WebAssembly.Instance(module, { './schema_engine_bg.js': bg as unknown as WebAssembly.ModuleImports });
  bg.__wbg_set_wasm(instance.exports);
  (instance.exports as { __wbindgen_start?: () => void }).__wbindgen_start?.();
  instantiated = true;
}

/** A schema engine bound to a database. */
async function openSchemaEngine(databaseUrl: string): Promise<SchemaEngine> {
  await loadWasm();
  const schema = await readFile(SCHEMA_PATH, 'utf8');
  const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPg({ connectionString: databaseUrl }) as never);
  const log = (msg: string) => {
    if (process.env.EXPFLOW_DEBUG_SCHEMA_ENGINE) process.stderr.write(`${msg}\n`);
  };
  return bg.SchemaEngine.new({ datamodels: [[SCHEMA_PATH, schema]] }, log, adapter);
}

/** Reads prisma/migrations in Prisma's standard layout. */
async function readMigrations(): Promise<MigrationList> {
  const entries = (await readdir(MIGRATIONS_DIR, { withFileTypes: true }).catch(() => []))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const migrationDirectories = await Promise.all(
    entries.map(async (name) => ({
      path: name,
      migrationFile: {
        path: 'migration.sql',
        content: await readFile(join(MIGRATIONS_DIR, name, 'migration.sql'), 'utf8').then(
          (value) => ({ tag: 'ok' as const, value }),
          (e: Error) => ({ tag: 'error' as const, value: e.message }),
        ),
      },
    })),
  );
  const lockPath = join(MIGRATIONS_DIR, 'migration_lock.toml');
  return {
    baseDir: MIGRATIONS_DIR,
    lockfile: { path: 'migration_lock.toml', content: await readFile(lockPath, 'utf8').catch(() => null) },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

const noFilters = { externalTables: [], externalEnums: [] };

/** Applies every pending migration, recording `_prisma_migrations` rows as `prisma migrate deploy` does. */
export async function applyMigrations(databaseUrl: string): Promise<string[]> {
  const engine = await openSchemaEngine(databaseUrl);
  try {
    const out = await engine.applyMigrations({ migrationsList: await readMigrations(), filters: noFilters });
    return out.appliedMigrationNames;
  } finally {
    engine.free();
  }
}

/**
 * SQL that takes the schema recorded with the newest migration to the current schema.
 * Each migration folder keeps a copy of the schema it produced (schema.prisma, ignored by Prisma
 * Migrate), so a diff needs no shadow database: the wasm engine cannot describe a live Postgres
 * catalogue here ("Column type 'char' could not be deserialized"). The engine still opens a
 * connection at start-up, so it is given one; the diff itself reads and writes nothing there.
 */
export async function diffMigrationsToSchema(databaseUrl: string): Promise<string> {
  await loadWasm();
  const schema = await readFile(SCHEMA_PATH, 'utf8');
  const migrations = await readMigrations();
  const last = migrations.migrationDirectories.at(-1);
  const previous = last ? await readFile(join(MIGRATIONS_DIR, last.path, 'schema.prisma'), 'utf8') : null;
  const engine = await bg.SchemaEngine.new({ datamodels: [[SCHEMA_PATH, schema]] }, () => {}, bindMigrationAwareSqlAdapterFactory(new PrismaPg({ connectionString: databaseUrl }) as never));
  try {
    const result = await engine.diff({
      from: previous === null ? { tag: 'empty' } : { tag: 'schemaDatamodel', files: [{ path: 'previous.prisma', content: previous }] },
      to: { tag: 'schemaDatamodel', files: [{ path: SCHEMA_PATH, content: schema }] },
      script: true,
      exitCode: null,
      filters: noFilters,
    });
    return result.stdout ?? '';
  } finally {
    engine.free();
  }
}
