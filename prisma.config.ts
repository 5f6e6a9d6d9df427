import { defineConfig } from 'prisma/config';

// Prisma 7 reads the connection from here, not from the schema. The URL only matters to CLI commands
// that talk to the database; generate/validate do not.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:55432/expflow' },
});
