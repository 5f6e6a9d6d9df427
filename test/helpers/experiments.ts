/** A minimal valid experiment definition for tests that need one running. */
export function abExperiment(key: string, extra: { config?: Record<string, unknown> } = {}) {
  return {
    key,
    name: key,
    kind: 'ab',
    owner: 'tests',
    variants: [
      { key: 'control', weight: 0.5, control: true },
      { key: 'treatment', weight: 0.5 },
    ],
    config: { metrics: [{ key: 'conv', event: 'purchase', type: 'binary', role: 'primary' }], ...extra.config },
  };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}
