/**
 * `GET /debug/machines`: every machine's diagram rendered by Mermaid in the browser (served from
 * our own node_modules, so it works offline), with the number of live actors in each state, on
 * the diagram (`live (12)`, occupied states highlighted) and in a table beside it. The page polls
 * `machines.json` every 2 seconds and re-renders a diagram only when its counts changed. With
 * WORKERS > 1 the counts are summed over the worker threads.
 *
 * Nothing on the page depends on the time, so its screenshot only changes when the machines or
 * the counts do.
 */
export const DEBUG_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>heartbeat · machines</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  :root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  body { margin: 0; background: #f8fafc; color: #0f172a; }
  header { padding: 12px 20px; background: #0f172a; color: #f8fafc; display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 18px; margin: 0; font-weight: 600; }
  #status { font-size: 13px; color: #cbd5e1; }
  #status.error { color: #fca5a5; }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; padding: 16px; }
  section { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; padding: 12px 16px; }
  section h2 { font-size: 16px; margin: 0 0 8px; }
  section h2 small { font-weight: 400; color: #64748b; margin-left: 8px; }
  table { border-collapse: collapse; font-size: 13px; margin-bottom: 8px; }
  th, td { padding: 2px 10px 2px 0; text-align: left; }
  th { color: #64748b; font-weight: 500; }
  td.count { text-align: right; font-variant-numeric: tabular-nums; }
  tr.occupied td { font-weight: 600; color: #047857; }
  .diagram svg { max-width: 100%; height: auto; }
  .untracked { color: #64748b; font-size: 13px; }
</style>
</head>
<body>
<header><h1>heartbeat · state machines</h1><span id="status">loading…</span></header>
<main id="machines"></main>
<script src="mermaid.min.js"></script>
<script>
'use strict';
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: 'default' });
const shown = new Map(); // machine id -> the diagram text on screen
let renders = 0;

function section(m) {
  let el = document.getElementById('machine-' + m.id);
  if (el) return el;
  el = document.createElement('section');
  el.id = 'machine-' + m.id;
  el.dataset.machine = m.id;
  const h2 = document.createElement('h2');
  h2.textContent = m.id;
  const small = document.createElement('small');
  small.textContent = 'machines/' + m.file + ' · ' + m.export;
  h2.append(small);
  const table = document.createElement('table');
  table.className = 'counts';
  table.innerHTML = '<thead><tr><th>state</th><th>actors</th></tr></thead><tbody></tbody>';
  const diagram = document.createElement('div');
  diagram.className = 'diagram';
  el.append(h2, table, diagram);
  document.getElementById('machines').append(el);
  return el;
}

function fillCounts(el, m) {
  const table = el.querySelector('table.counts');
  if (!m.tracked) {
    table.hidden = true;
    if (!el.querySelector('.untracked')) {
      const p = document.createElement('p');
      p.className = 'untracked';
      p.textContent = 'No live actors of this machine are tracked by the service.';
      table.after(p);
    }
    return;
  }
  const rows = Object.entries(m.counts).map(([state, n]) => {
    const tr = document.createElement('tr');
    if (n > 0) tr.className = 'occupied';
    const name = document.createElement('td');
    name.textContent = state;
    const count = document.createElement('td');
    count.className = 'count';
    count.textContent = String(n);
    count.dataset.state = state;
    count.dataset.count = String(n);
    tr.append(name, count);
    return tr;
  });
  table.tBodies[0].replaceChildren(...rows);
}

async function refresh() {
  const status = document.getElementById('status');
  let data;
  try {
    const res = await fetch('machines.json', { cache: 'no-store' });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    data = await res.json();
  } catch (error) {
    status.textContent = 'cannot reach the admin port (' + error.message + '), retrying';
    status.className = 'error';
    return;
  }
  status.className = '';
  status.textContent = data.streams + ' open stream' + (data.streams === 1 ? '' : 's') + ' · ' +
    (data.workers > 1 ? data.workers + ' workers (counts summed) · ' : '') +
    (data.ready ? 'ready' : 'not ready: ' + data.reason) + ' · refreshed every 2 s';
  for (const m of data.machines) {
    const el = section(m);
    fillCounts(el, m);
    if (shown.get(m.id) === m.annotated) continue;
    try {
      const { svg } = await mermaid.render('diagram-' + m.id.replace(/[^A-Za-z0-9_-]/g, '_') + '-' + (++renders), m.annotated);
      el.querySelector('.diagram').innerHTML = svg;
      shown.set(m.id, m.annotated);
    } catch (error) {
      el.querySelector('.diagram').textContent = 'Mermaid could not render this diagram: ' + error.message;
    }
  }
  document.body.dataset.renders = String(renders);
}

async function loop() {
  await refresh();
  setTimeout(loop, 2000);
}
loop();
</script>
</body>
</html>
`;
