// src/api/web/app.js: the metaetl dashboard.
//
// Reads /api/v1 with the bearer token the user entered (kept in this tab's
// sessionStorage; "#token=..." in the address is taken once and removed, for
// bookmarks and headless tests).  Everything shown is built with DOM calls
// and textContent, never from HTML strings, so no value from the database can
// become markup.  Charts and the lineage graph are plain SVG drawn here.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
const REFRESH_MS = 15000;
let token = sessionStorage.getItem('metaetl_token') || '';
let selected = null;
let timer = null;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? '' : String(c)));
  return e;
}

// long texts (an alert quoting a statement) are cut, the whole text in the tooltip
function shorten(text, max) {
  const t = text == null ? '' : String(text);
  return t.length > max ? t.slice(0, max - 1) + '…' : t;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: 'Bearer ' + token }, options.headers || {});
  const r = await fetch('api/v1' + path, Object.assign({}, options, { headers }));
  const type = r.headers.get('content-type') || '';
  const body = r.status === 204 ? null : type.includes('json') ? await r.json() : await r.text();
  if (!r.ok) {
    const err = new Error((body && body.detail) || r.statusText);
    err.status = r.status;
    throw err;
  }
  return body;
}

function message(text) {
  const m = document.getElementById('message');
  m.hidden = !text;
  m.textContent = text || '';
}

function badge(text) {
  return el('span', { class: 'badge ' + (text || '') }, text || '–');
}

function fmtTime(ts) {
  if (!ts) return '–';
  const d = new Date(ts);
  return d.toISOString().replace('T', ' ').slice(0, 19);
}

function fmtMs(ms) {
  if (ms === null || ms === undefined) return '–';
  return ms < 1000 ? Math.round(ms) + ' ms' : (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
}

function replace(node, ...children) {
  node.replaceChildren(...children);
}

// ------------------------------------------------------------- pipelines

function renderPipelines(pipelines) {
  const body = document.querySelector('#pipelines tbody');
  if (!pipelines.length) {
    replace(body, el('tr', {}, el('td', { colspan: 9, class: 'muted' }, 'no pipelines visible to this token')));
    return;
  }
  replace(body, ...pipelines.map(p => {
    const r = p.last_run || {};
    const tr = el('tr', { class: 'pipeline' + (p.pipeline_id === selected ? ' selected' : ''),
                          'data-pipeline': p.pipeline_id, onclick: () => select(p.pipeline_id) },
      el('td', {}, p.pipeline_id), el('td', {}, p.name), el('td', { class: 'num' }, p.version),
      el('td', {}, p.owner), el('td', {}, p.schedule && p.schedule.cron ? p.schedule.cron : '–'),
      el('td', {}, fmtTime(r.queued_at)), el('td', { class: 'status' }, badge(r.status)),
      el('td', { class: 'num' }, fmtMs(r.duration_ms)),
      el('td', { class: 'num' }, r.quality_score == null ? '–' : r.quality_score));
    return tr;
  }));
}

// ---------------------------------------------------------------- charts

const STATUS_COLOR = { succeeded: '#1f9d55', failed: '#d64545', quality_failed: '#d64545',
  abandoned: '#d64545', cancelled: '#d99a00', skipped: '#d99a00', running: '#2f6fde', queued: '#2f6fde' };

function durationChart(runs) {
  const node = document.getElementById('duration-chart');
  const done = runs.filter(r => r.duration_ms != null).slice(0, 40).reverse();
  if (!done.length) { replace(node, el('p', { class: 'muted' }, 'no finished runs yet')); return; }
  const W = 420, H = 160, L = 44, B = 18, T = 8;
  const max = Math.max(...done.map(r => r.duration_ms)) || 1;
  const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'run durations', id: 'duration-svg' });
  s.append(svg('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#dde1e7' }));
  s.append(svg('line', { x1: L, y1: H - B, x2: W, y2: H - B, stroke: '#dde1e7' }));
  s.append(svg('text', { x: L - 4, y: T + 8, 'text-anchor': 'end' }, fmtMs(max)));
  s.append(svg('text', { x: L - 4, y: H - B, 'text-anchor': 'end' }, '0'));
  const bw = Math.min(24, (W - L - 4) / done.length);
  done.forEach((r, i) => {
    const h = Math.max(1, (r.duration_ms / max) * (H - B - T));
    const bar = svg('rect', { x: L + 2 + i * bw, y: H - B - h, width: Math.max(1, bw - 2), height: h,
                              fill: STATUS_COLOR[r.status] || '#6b7280', class: 'bar' });
    bar.append(svg('title', {}, `run ${r.run_id}: ${r.status}, ${fmtMs(r.duration_ms)}`));
    s.append(bar);
  });
  s.append(svg('text', { x: L + 2, y: H - 4 }, 'run ' + done[0].run_id));
  if (done.length > 1)
    s.append(svg('text', { x: L + done.length * bw, y: H - 4, 'text-anchor': 'end' }, 'run ' + done[done.length - 1].run_id));
  replace(node, s);
}

function qualityChart(runs) {
  const node = document.getElementById('quality-chart');
  const scored = runs.filter(r => r.quality_score != null).slice(0, 40).reverse();
  if (!scored.length) { replace(node, el('p', { class: 'muted' }, 'no quality scores yet')); return; }
  const W = 420, H = 160, L = 30, B = 18, T = 8;
  const y = v => T + (1 - v / 100) * (H - B - T);
  const x = i => scored.length === 1 ? (L + W) / 2 : L + 4 + i * (W - L - 8) / (scored.length - 1);
  const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'quality scores', id: 'quality-svg' });
  for (const v of [0, 50, 100]) {
    s.append(svg('line', { x1: L, y1: y(v), x2: W, y2: y(v), stroke: '#eef0f3' }));
    s.append(svg('text', { x: L - 4, y: y(v) + 3, 'text-anchor': 'end' }, v));
  }
  s.append(svg('polyline', { points: scored.map((r, i) => `${x(i)},${y(Number(r.quality_score))}`).join(' '),
                             fill: 'none', stroke: '#2f6fde', 'stroke-width': 2 }));
  scored.forEach((r, i) => {
    const dot = svg('circle', { cx: x(i), cy: y(Number(r.quality_score)), r: 3, fill: '#2f6fde', class: 'point' });
    dot.append(svg('title', {}, `run ${r.run_id}: ${r.quality_score}`));
    s.append(dot);
  });
  replace(node, s);
}

function slaTable(sla) {
  const node = document.getElementById('sla');
  if (!sla.report.length) { replace(node, el('p', { class: 'muted' }, 'no SLA defined')); return; }
  const met = sla.history.filter(h => h.compliant).length;
  // the report lists every evaluation in its window: show the latest of each SLA
  const latest = new Map();
  for (const r of sla.report) {
    const seen = latest.get(r.sla_type);
    if (!seen || String(r.evaluated_at) > String(seen.evaluated_at)) latest.set(r.sla_type, r);
  }
  const rows = [...latest.values()].map(r => el('tr', {},
    el('td', {}, r.sla_type), el('td', {}, r.target), el('td', {}, r.observed == null ? '–' : r.observed),
    el('td', { class: r.compliant ? 'compliant' : 'breached' }, r.compliant == null ? '–' : r.compliant ? 'met' : 'breached')));
  replace(node,
    el('table', { id: 'sla-table' }, el('thead', {}, el('tr', {}, el('th', {}, 'SLA'), el('th', {}, 'Target'),
      el('th', {}, 'Observed'), el('th', {}, 'Last'))), el('tbody', {}, ...rows)),
    el('p', { class: 'muted', id: 'sla-summary' }, sla.history.length
      ? `${Math.round(100 * met / sla.history.length)}% of ${sla.history.length} evaluations met`
      : 'not evaluated yet'));
}

// lineage rows come from etl.lineage(pipeline); their column names are read
// loosely (source/target, from/to, ...) so the graph follows that function
function lineageGraph(lineage) {
  const node = document.getElementById('lineage');
  const pick = (o, keys) => { for (const k of keys) if (o[k] != null && o[k] !== '') return String(o[k]); return null; };
  const edges = new Map();
  for (const e of lineage.edges || []) {
    const from = pick(e, ['source_relation', 'source_table', 'source', 'from_relation', 'from', 'upstream', 'src']);
    const to = pick(e, ['target_relation', 'target_table', 'target', 'to_relation', 'to', 'downstream', 'dst']);
    if (!from || !to || from === to) continue;
    const key = from + '\u0000' + to;
    const cols = edges.get(key) || [];
    const fc = pick(e, ['source_column', 'from_column']), tc = pick(e, ['target_column', 'to_column']);
    if (fc || tc) cols.push((fc || '?') + ' → ' + (tc || '?'));
    edges.set(key, cols);
  }
  if (!edges.size) { replace(node, el('p', { class: 'muted', id: 'lineage-empty' }, 'no lineage recorded yet')); return; }
  const names = new Set();
  const list = [...edges.entries()].map(([k, cols]) => { const [a, b] = k.split('\u0000'); names.add(a); names.add(b); return { a, b, cols }; });
  // columns by longest path from the sources
  const depth = new Map([...names].map(n => [n, 0]));
  for (let i = 0; i < names.size; i++)
    for (const { a, b } of list) if (depth.get(b) < depth.get(a) + 1) depth.set(b, Math.min(depth.get(a) + 1, names.size));
  const columns = [];
  for (const n of [...names].sort()) (columns[depth.get(n)] = columns[depth.get(n)] || []).push(n);
  const NW = 150, NH = 26, GX = 60, GY = 14;
  const W = Math.max(420, columns.length * (NW + GX)), H = Math.max(...columns.map(c => (c || []).length)) * (NH + GY) + GY;
  const pos = new Map();
  columns.forEach((c, i) => (c || []).forEach((n, j) => pos.set(n, { x: 10 + i * (NW + GX), y: GY + j * (NH + GY) })));
  const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'lineage graph', id: 'lineage-svg' });
  const defs = svg('defs');
  const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto' });
  marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#8a94a6' }));
  defs.append(marker);
  s.append(defs);
  for (const { a, b, cols } of list) {
    const p = pos.get(a), q = pos.get(b);
    const x1 = p.x + NW, y1 = p.y + NH / 2, x2 = q.x, y2 = q.y + NH / 2;
    const path = svg('path', { d: `M${x1},${y1} C${x1 + GX / 2},${y1} ${x2 - GX / 2},${y2} ${x2},${y2}`,
                               class: 'edge', 'marker-end': 'url(#arrow)' });
    path.append(svg('title', {}, `${a} → ${b}${cols.length ? '\n' + cols.join('\n') : ''}`));
    s.append(path);
  }
  for (const [n, p] of pos) {
    const g = svg('g', { class: 'node', transform: `translate(${p.x},${p.y})` });
    g.append(svg('rect', { width: NW, height: NH, rx: 4 }));
    g.append(svg('text', { x: 6, y: 17 }, n.length > 22 ? n.slice(0, 21) + '…' : n));
    g.append(svg('title', {}, n));
    s.append(g);
  }
  replace(node, s);
}

async function renderDetail() {
  const section = document.getElementById('detail');
  if (!selected) { section.hidden = true; return; }
  section.hidden = false;
  document.getElementById('detail-title').textContent = 'Pipeline ' + selected;
  const id = encodeURIComponent(selected);
  const [runs, sla] = await Promise.all([api('/runs?limit=100&pipeline_id=' + id), api('/pipelines/' + id + '/sla')]);
  durationChart(runs);
  qualityChart(runs);
  slaTable(sla);
  try {
    lineageGraph(await api('/pipelines/' + id + '/lineage'));
  } catch (e) {
    if (e.status === 501) replace(document.getElementById('lineage'), el('p', { class: 'muted', id: 'lineage-unavailable' }, 'lineage not available'));
    else throw e;
  }
}

// ---------------------------------------------------------------- alerts

function renderAlerts(alerts) {
  const body = document.querySelector('#alerts tbody');
  if (!alerts.length) {
    replace(body, el('tr', {}, el('td', { colspan: 8, class: 'muted' }, 'no open alerts')));
    return;
  }
  replace(body, ...alerts.map(a => el('tr', { 'data-alert': a.alert_id },
    el('td', { class: 'num' }, a.alert_id), el('td', {}, badge(a.priority)), el('td', {}, a.alert_type),
    el('td', {}, a.pipeline_id || '–'), el('td', { class: 'msg', title: a.message }, shorten(a.message, 160)),
    el('td', {}, fmtTime(a.last_seen_at) + (a.occurrences > 1 ? ` (×${a.occurrences})` : '')),
    el('td', { class: 'alert-status' }, badge(a.status)),
    el('td', {}, a.status === 'open'
      ? el('button', { class: 'ack', onclick: ev => acknowledge(a.alert_id, ev.target) }, 'Acknowledge')
      : ''))));
}

async function acknowledge(id, button) {
  button.disabled = true;
  try {
    await api('/alerts/' + id + '/acknowledge', { method: 'POST' });
    await refresh();
  } catch (e) {
    message('could not acknowledge alert ' + id + ': ' + e.message);
    button.disabled = false;
  }
}

// --------------------------------------------------------------- refresh

async function refresh() {
  clearTimeout(timer);
  try {
    const health = await fetch('api/v1/health').then(r => r.json());
    document.getElementById('health').textContent =
      `metaetl ${health.extension_version || '?'} · PostgreSQL ${health.postgresql_version || '?'} · scheduler ${health.scheduler || '?'}`;
  } catch (e) {
    document.getElementById('health').textContent = 'server not reachable';
  }
  if (!token) { message('enter an API token (SELECT etl.create_api_token(\'role\') makes one)'); return; }
  try {
    const [pipelines, alerts] = await Promise.all([api('/pipelines'), api('/alerts?status=active&limit=50')]);
    if (!selected && pipelines.length) selected = pipelines[0].pipeline_id;
    if (selected && !pipelines.some(p => p.pipeline_id === selected)) selected = pipelines.length ? pipelines[0].pipeline_id : null;
    renderPipelines(pipelines);
    renderAlerts(alerts);
    await renderDetail();
    message('');
    document.getElementById('refreshed').textContent = 'updated ' + fmtTime(new Date().toISOString()) + ' UTC';
    document.body.dataset.loaded = 'true';
  } catch (e) {
    message(e.status === 401 ? 'the token was refused: ' + e.message : 'error: ' + e.message);
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

function select(id) {
  selected = id;
  refresh();
}

document.addEventListener('DOMContentLoaded', () => {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    token = decodeURIComponent(m[1]);
    sessionStorage.setItem('metaetl_token', token);
    history.replaceState(null, '', location.pathname + location.search);
  }
  document.getElementById('token').value = token ? '••••••••' : '';
  document.getElementById('token-form').addEventListener('submit', ev => {
    ev.preventDefault();
    const v = document.getElementById('token').value.trim();
    if (v && !/^•+$/.test(v)) { token = v; sessionStorage.setItem('metaetl_token', token); }
    refresh();
  });
  refresh();
});
