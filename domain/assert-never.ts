/** Ends an exhaustive `switch` over a union: the compiler rejects the call if a case is missing. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unknown ${what} ${JSON.stringify(value)}`);
}
