/** `expflow dead-letters` against the real API and worker: list and replay; bad arguments exit 2 naming the option. */
import { describe, expect, it } from 'vitest';
import { insertDeadLetters } from '../../infra/dead-letters.js';
import { createPool } from '../../infra/pg.js';
import { runExpflow } from '../helpers/cli.js';
import { uniqueSuffix, waitFor } from '../helpers/services.js';
import { useStack } from '../helpers/stack.js';
import { afterAll } from 'vitest';

const stack = useStack();
const pool = createPool(stack.config.databaseUrl, 2);
afterAll(() => pool.end());

const cli = (...args: string[]) => runExpflow(['dead-letters', ...args, '--api', stack.api.url]);

describe('expflow dead-letters', () => {
  it('lists a dead letter and replays it onto the queue', async () => {
    const eventId = `cli-dl-${uniqueSuffix()}`;
    await insertDeadLetters(pool, 'events', [{ eventId, unitId: 'cli-u1', name: 'cli-test', value: 1, timestamp: new Date().toISOString() }], 'refused earlier');
    const id = (await pool.query<{ id: string }>(`SELECT id::text FROM "DeadLetter" WHERE payload LIKE $1`, [`%${eventId}%`])).rows[0]!.id;

    const listed = await cli('list', '--after', String(BigInt(id) - 1n), '--limit', '1');
    expect(listed.code, listed.stderr).toBe(0);
    const rows = JSON.parse(listed.stdout).deadLetters;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id, kind: 'events', reason: 'refused earlier', replayedAt: null });

    const replayed = await cli('replay', '--id', id);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(JSON.parse(replayed.stdout)).toEqual({ replayed: 1, ids: [id] });
    await waitFor(async () => (await pool.query(`SELECT 1 FROM "Event" WHERE "eventId" = $1`, [eventId])).rowCount === 1, { what: 'the replayed event' });
  });

  it.each([
    [['purge'], /^expflow dead-letters: command: expected list or replay/],
    [['replay'], /--id: give the ids/],
    [['replay', '--id', '1,x'], /--id: 'x' is not a dead-letter id/],
    [['replay', '--id', '1', '--all'], /--id: give ids or --all, not both/],
    [['list', '--limit', '0'], /--limit: a positive whole number/],
    [['list', '--after', 'abc'], /--after: a dead-letter id/],
  ])('exits 2 on %j', async (args, message) => {
    const r = await cli(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
