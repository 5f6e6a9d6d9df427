/**
 * `expflow keys <command>`: manage API keys in the database directly (so the first admin key can be
 * made before any key exists).
 *
 *   create --name NAME --role admin|operator|ingest|assign|read [--experiments a,b] [--entities e,f] [--rate-limit N]
 *   list
 *   revoke <id | 12-character prefix>
 *
 * `create` prints the key once; only its hash is stored. Exit codes: 0 ok, 2 bad arguments (the
 * message names the option), 1 failure.
 */
import { at } from '../domain/at.js';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ROLES } from '../api/access.js';
import { KeyStore } from '../api/keys.js';
import { createKeySchema, keyIdParam } from '../api/schemas.js';
import { loadConfig } from '../config.js';
import { createPrisma } from '../infra/prisma.js';

class UsageError extends Error {}
class HelpRequest extends Error {}

const SUBCOMMANDS: Record<string, [string, string]> = {
  create: ['--name NAME --role admin|operator|ingest|assign|read [--experiments a,b] [--entities e,f] [--rate-limit N] [--json]', 'create a key and print it once'],
  list: ['[--json]', 'list keys (never the keys themselves)'],
  revoke: ['<id | 12-character prefix> [--json]', 'revoke a key'],
};

/** The usage of one subcommand, or of them all. */
function usage(command: string | undefined): string {
  const one = command === undefined ? undefined : SUBCOMMANDS[command];
  if (one) return `usage: expflow keys ${command} ${one[0]}\n\n${one[1]}\n`;
  return `usage: expflow keys <command> [options]\n\ncommands:\n${Object.entries(SUBCOMMANDS).map(([name, [args, what]]) => `  ${name.padEnd(10)} ${args}: ${what}`).join('\n')}\n`;
}

const list = (v: string | undefined) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined);

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { name: { type: 'string' }, role: { type: 'string' }, experiments: { type: 'string' }, entities: { type: 'string' }, 'rate-limit': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  const [command, ...rest] = positionals;
  if (values.help) throw new HelpRequest(usage(command));
  if (command === 'create') {
    const r = createKeySchema.safeParse({
      name: values.name,
      role: values.role,
      experiments: list(values.experiments),
      entities: list(values.entities),
      rateLimitPerMinute: values['rate-limit'] === undefined ? undefined : Number(values['rate-limit']),
    });
    if (!r.success) {
      const i = at(r.error.issues, 0, 'zod issues'); // a failed parse has at least one
      const opt = { rateLimitPerMinute: 'rate-limit' }[String(i.path[0])] ?? String(i.path[0]);
      throw new UsageError(`--${opt}: ${i.path[0] === 'role' ? `one of ${ROLES.join(', ')}` : i.message}`);
    }
    return { command, input: r.data, json: !!values.json } as const;
  }
  if (command === 'list') return { command, json: !!values.json } as const;
  if (command === 'revoke') {
    const id = z.string().safeParse(rest[0]);
    if (!id.success || !keyIdParam.safeParse(rest[0]).success) throw new UsageError('revoke: give the key id or its 12-character prefix');
    return { command, id: id.data, json: !!values.json } as const;
  }
  throw new UsageError('usage: expflow keys create|list|revoke');
}

async function main() {
  let cmd;
  try {
    cmd = parse(process.argv.slice(2));
  } catch (e) {
    if (e instanceof HelpRequest) {
      process.stdout.write(e.message);
      process.exit(0);
    }
    process.stderr.write(`expflow keys: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const prisma = createPrisma(loadConfig().databaseUrl);
  const keys = new KeyStore(prisma);
  try {
    if (cmd.command === 'create') {
      const created = await keys.create({ ...cmd.input, createdBy: `cli:${process.env.USER ?? 'unknown'}` });
      await prisma.auditLog.create({ data: { actor: `cli:${process.env.USER ?? 'unknown'}`, action: 'key.create', target: created.id, reason: `${created.role} key '${created.name}'` } });
      if (cmd.json) console.log(JSON.stringify(created));
      else console.log(`created ${created.role} key '${created.name}' (${created.id})\n\n  ${created.key}\n\nStore it now: it is not shown again.`);
    } else if (cmd.command === 'list') {
      const all = await keys.list();
      if (cmd.json) console.log(JSON.stringify(all));
      else for (const k of all) console.log(`${k.id}  ${k.prefix}…  ${k.role.padEnd(8)}  ${k.name}${k.experiments.length ? `  experiments=${k.experiments.join(',')}` : ''}${k.entities.length ? `  entities=${k.entities.join(',')}` : ''}${k.revokedAt ? '  REVOKED' : ''}`);
    } else {
      const revoked = await keys.revoke(cmd.id);
      if (!revoked) {
        process.stderr.write(`expflow keys: no key '${cmd.id}'\n`);
        process.exitCode = 1;
      } else {
        await prisma.auditLog.create({ data: { actor: `cli:${process.env.USER ?? 'unknown'}`, action: 'key.revoke', target: revoked.id, reason: `${revoked.role} key '${revoked.name}'` } });
        console.log(cmd.json ? JSON.stringify(revoked) : `revoked ${revoked.id} (${revoked.name})`);
      }
    }
  } finally {
    await prisma.$disconnect();
  }
}

await main();
