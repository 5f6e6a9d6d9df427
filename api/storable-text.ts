/**
 * PostgreSQL cannot store every string JSON can carry: text and jsonb reject NUL (U+0000), and jsonb
 * rejects unpaired UTF-16 surrogates ("unsupported Unicode escape sequence", a 500 the fuzzer
 * found). Request bodies are checked once at the boundary, keys and values alike, so such input is
 * a 400 naming the field instead of a failed write (or a poison message in the event queue).
 * So is an object key "__proto__" (see PROTO_KEY in domain/events/storable.ts).
 */
import { PROTO_KEY, PROTO_KEY_MESSAGE } from '../domain/events/storable.js';
import { ApiError } from './errors.js';

const TEXT_MESSAGE = 'contains a NUL character or an unpaired UTF-16 surrogate, which cannot be stored';

// A NUL, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The first string or key in a body that cannot be stored as sent, and why; or null. Iterative: any depth. */
function findUnstorable(value: unknown): { path: string; message: string } | null {
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (UNSTORABLE.test(v)) return { path: path || 'body', message: TEXT_MESSAGE };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        const childPath = path ? `${path}.${k}` : k;
        if (UNSTORABLE.test(k)) return { path: `${path || 'body'} (a key)`, message: TEXT_MESSAGE };
        if (k === PROTO_KEY) return { path: childPath, message: PROTO_KEY_MESSAGE };
        stack.push([child, childPath]);
      }
    }
  }
  return null;
}

/** The path of the first string (key or value) that cannot be stored as sent, or null. */
export function findUnstorableText(value: unknown): string | null {
  return findUnstorable(value)?.path ?? null;
}

/** Throws the 400 when a body holds text that cannot be stored as sent. */
export function assertStorableText(body: unknown): void {
  const problem = findUnstorable(body);
  if (problem !== null) throw new ApiError(400, 'invalid_text', `${problem.path}: ${problem.message}`);
}
