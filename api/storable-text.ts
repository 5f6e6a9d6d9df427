/**
 * PostgreSQL cannot store every string JSON can carry: text and jsonb reject NUL (U+0000), and jsonb
 * rejects unpaired UTF-16 surrogates ("unsupported Unicode escape sequence", a 500 the fuzzer
 * found). Request bodies are checked once at the boundary, keys and values alike, so such input is
 * a 400 naming the field instead of a failed write (or a poison message in the event queue).
 */
import { ApiError } from './errors.js';

// A NUL, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The path of the first string (key or value) PostgreSQL cannot store, or null. Iterative: any depth. */
export function findUnstorableText(value: unknown): string | null {
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (UNSTORABLE.test(v)) return path || 'body';
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        const childPath = path ? `${path}.${k}` : k;
        if (UNSTORABLE.test(k)) return `${path || 'body'} (a key)`;
        stack.push([child, childPath]);
      }
    }
  }
  return null;
}

/** Throws the 400 when a body holds text PostgreSQL cannot store. */
export function assertStorableText(body: unknown): void {
  const at = findUnstorableText(body);
  if (at !== null) throw new ApiError(400, 'invalid_text', `${at}: contains a NUL character or an unpaired UTF-16 surrogate, which cannot be stored`);
}
