/**
 * GET /docs: a self-contained page that renders /openapi.json (no CDN, no bundle; the page's own
 * script lists each operation with its parameters, request body and responses, schemas expanded).
 */
export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>expflow API</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem 1.5rem 4rem; color: #1d232a; }
  h1 { margin-bottom: 0.2rem; } .lead { color: #5a6470; margin-top: 0; }
  details.op { border: 1px solid #d5dbe1; border-radius: 6px; margin: 0.5rem 0; }
  details.op > summary { cursor: pointer; padding: 0.5rem 0.75rem; list-style: none; display: flex; gap: 0.75rem; align-items: baseline; }
  .m { font: 600 12px/1 ui-monospace, monospace; text-transform: uppercase; padding: 0.3rem 0.45rem; border-radius: 4px; color: #fff; min-width: 2.6rem; text-align: center; }
  .get { background: #2f7d4f; } .post { background: #2c5f9e; }
  .path { font-family: ui-monospace, monospace; } .sum { color: #5a6470; }
  .body { padding: 0 0.9rem 0.7rem; } h4 { margin: 0.8rem 0 0.3rem; }
  pre { background: #f5f7f9; padding: 0.6rem; border-radius: 4px; overflow-x: auto; font-size: 13px; }
  table { border-collapse: collapse; } td, th { text-align: left; padding: 0.2rem 0.8rem 0.2rem 0; vertical-align: top; }
  code { font-family: ui-monospace, monospace; }
</style>
</head>
<body>
<h1>expflow API</h1>
<p class="lead" id="lead">Loading <a href="/openapi.json">/openapi.json</a>…</p>
<div id="ops"></div>
<script>
(async () => {
  const doc = await (await fetch('/openapi.json')).json();
  const schemas = doc.components.schemas;
  const el = (tag, attrs, ...kids) => { const e = document.createElement(tag); Object.assign(e, attrs); e.append(...kids); return e; };
  // Inline $refs (one level of recursion is enough to read; a cycle prints its name).
  const expand = (s, seen = []) => {
    if (Array.isArray(s)) return s.map((x) => expand(x, seen));
    if (!s || typeof s !== 'object') return s;
    if (s.$ref) { const id = s.$ref.split('/').pop(); return seen.includes(id) ? '<' + id + '>' : expand(schemas[id], [...seen, id]); }
    return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, expand(v, seen)]));
  };
  const pre = (s) => el('pre', { textContent: JSON.stringify(expand(s), null, 2) });
  document.getElementById('lead').textContent = doc.info.description + ' Version ' + doc.info.version + '. Raw document: ';
  document.getElementById('lead').append(el('a', { href: '/openapi.json', textContent: '/openapi.json' }));
  const ops = document.getElementById('ops');
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const body = el('div', { className: 'body' });
      if (op.parameters) {
        const rows = op.parameters.map((p) => el('tr', {}, el('td', {}, el('code', { textContent: p.name })), el('td', { textContent: p.in + (p.required ? ', required' : '') }), el('td', {}, el('code', { textContent: JSON.stringify(p.schema) }))));
        body.append(el('h4', { textContent: 'Parameters' }), el('table', {}, ...rows));
      }
      if (op.requestBody) body.append(el('h4', { textContent: 'Request body (application/json' + (op.requestBody.required ? ', required' : '') + ')' }), pre(op.requestBody.content['application/json'].schema));
      for (const [status, r] of Object.entries(op.responses)) {
        body.append(el('h4', { textContent: 'Response ' + status + ': ' + r.description }));
        if (r.content) body.append(pre(r.content['application/json'].schema));
      }
      ops.append(el('details', { className: 'op' }, el('summary', {}, el('span', { className: 'm ' + method, textContent: method }), el('span', { className: 'path', textContent: path }), el('span', { className: 'sum', textContent: op.summary })), body));
    }
  }
})().catch((e) => { document.getElementById('lead').textContent = 'Could not load /openapi.json: ' + e.message; });
</script>
</body>
</html>
`;
