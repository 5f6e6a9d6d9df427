/**
 * Prints the fault table from the rows test/faults wrote (test/helpers/fault-report.ts), then one
 * JSON line; exits 1 when the tests failed, a row is missing, or any row lost or doubled anything.
 *   tsx scripts/faults-table.ts <rows.jsonl> <vitest exit code> <seconds>
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const cell = z.union([z.number(), z.string()]);
const rowSchema = z.object({
  fault: z.string(),
  in: z.record(z.string(), cell),
  out: z.record(z.string(), cell),
  lost: z.number(),
  doubled: z.number(),
  seconds: z.number(),
  notes: z.string().optional(),
});

const [file, vitestExit = '1', seconds = '0'] = process.argv.slice(2);
if (!file) {
  console.error('usage: tsx scripts/faults-table.ts <rows.jsonl> <vitest exit code> <seconds>');
  process.exit(2);
}
const rows = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => rowSchema.parse(JSON.parse(l)));
const kv = (r: Record<string, number | string>) => Object.entries(r).map(([k, v]) => `${k}: ${v}`).join('; ');
const header = ['fault', 'in', 'out', 'lost', 'doubled', 's'];
const table = [header, ...rows.map((r) => [r.fault, kv(r.in), kv(r.out), String(r.lost), String(r.doubled), String(r.seconds)])];
const widths = header.map((_, i) => Math.min(i < 3 ? 70 : 8, Math.max(...table.map((t) => (t[i] ?? '').length))));
const wrap = (s: string, w: number) => (s.length <= w ? [s] : (s.match(new RegExp(`.{1,${w}}(\\s|$)|\\S+?(\\s|$)`, 'g')) ?? [s]).map((x) => x.trim()));
console.log('');
for (const [n, t] of table.entries()) {
  const cols = t.map((c, i) => wrap(c, widths[i] ?? 8));
  const height = Math.max(...cols.map((c) => c.length));
  for (let line = 0; line < height; line++) console.log(cols.map((c, i) => (c[line] ?? '').padEnd(widths[i] ?? 8)).join(' | '));
  if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
}
for (const r of rows.filter((x) => x.notes)) console.log(`note (${r.fault}): ${r.notes}`);
const lost = rows.reduce((s, r) => s + r.lost, 0);
const doubled = rows.reduce((s, r) => s + r.doubled, 0);
const ok = vitestExit === '0' && rows.length > 0 && lost === 0 && doubled === 0;
console.log(JSON.stringify({ faults: { rows: rows.length, lost, doubled, vitest_exit: Number(vitestExit), seconds: Number(seconds), ok } }));
process.exit(ok ? 0 : 1);
