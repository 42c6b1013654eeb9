// The visualizer page. Plain browser JavaScript, no build step, no dependencies.
//
// 1. GET /api/graphs: every statechart of machines/, already laid out by the server (elkjs);
//    drawn here as SVG. Every state is a <g class="state" data-machine data-state-id
//    data-state-path>, every drawn transition a <g class="edge" data-events>.
// 2. WebSocket /ws: `tick` messages with the actors whose state changed (throttled server-side),
//    new MarketChanges / rejected transitions, and every ~300 ms the registry summary and stats.
//    Redrawing is batched to one animation frame.
// 3. Nothing here knows the set of machines: every chart the server lists is drawn, and its
//    `live` mode says what goes on it ('actors': the actors running that machine, matched by
//    machine id; 'statusCounts': stats().statusCounts per top-level state).
// 4. The page says how fresh its data is (#feedStatus, body[data-feed]): "connecting…" until the
//    first data arrives, "live", "no data for N s" when ticks stop coming, "registry stopped",
//    "connection lost"; everything but live greys the page out.

const SVG_NS = 'http://www.w3.org/2000/svg';
const LINE_H = 15;
const CHIP_CHAR_W = 6.7; // 11 px monospace
const TITLE_H = 22;
const STATUSES = ['initialized', 'active', 'inactive', 'closed', 'determined', 'disputed', 'amended', 'finalized'];
const MAX_ROWS = 50;
/** Ticks come at least every ~300 ms while the server runs; this long without one is stale. */
const STALE_AFTER_MS = 3000;

const state = {
  charts: [],
  chartById: new Map(),
  variant: new Map(), // machineId -> 'compact' | 'full'
  actors: new Map(), // sessionId -> ActorRecord
  summary: null,
  stats: null,
  expectedMarkets: null,
  changes: [], // newest first
  rejected: [],
  changeTotal: 0,
  rejectedTotal: 0,
  flashes: [],
  dirty: { actors: true, live: true, changes: true, rejected: true },
  inspection: '',
  feed: { socket: 'connecting', everOpen: false, dataSinceOpen: false, lastDataAt: 0 },
  contextActor: null, // fullName of the actor whose context is shown (null: the root actor)
};

const $ = (id) => document.getElementById(id);
const fmt = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : '–');
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const clock = (ms) => new Date(ms).toTimeString().slice(0, 8);

function el(name, attrs = {}, parent) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  if (parent) parent.appendChild(node);
  return node;
}

function text(parent, x, y, content, cls) {
  const t = el('text', { x, y, class: cls }, parent);
  t.textContent = content;
  return t;
}

// ---------------------------------------------------------------------------------------------
// Statecharts

function layoutOf(chart) {
  const v = state.variant.get(chart.id) ?? 'compact';
  return v === 'full' || !chart.layouts.compact ? chart.layouts.full : chart.layouts.compact;
}

function renderChart(chart) {
  const layout = layoutOf(chart);
  const card = chart.card;
  card.querySelector('svg')?.remove();
  const pad = 4;
  const svg = el('svg', {
    class: 'statechart',
    'data-machine': chart.id,
    'data-variant': state.variant.get(chart.id) ?? 'compact',
    viewBox: `${-pad} ${-pad} ${layout.width + 2 * pad} ${layout.height + 2 * pad}`,
    width: layout.width + 2 * pad,
    height: layout.height + 2 * pad,
    role: 'img',
    'aria-label': `${chart.title} statechart`,
  });
  const defs = el('defs', {}, svg);
  const marker = el('marker', { id: `arrow-${chart.id}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' }, defs);
  el('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#5b6475' }, marker);

  const nodesLayer = el('g', { class: 'nodes' }, svg);
  const edgesLayer = el('g', { class: 'edges' }, svg);
  const labelsLayer = el('g', { class: 'labels' }, svg);
  const byId = new Map(layout.nodes.map((n) => [n.id, n]));
  chart.nodeEls = new Map();
  chart.edgeEls = [];

  for (const n of layout.nodes) {
    const isRoot = n.parent === null;
    const compound = n.type === 'compound' || n.type === 'parallel';
    const g = el('g', {
      class: `state type-${n.type}${compound ? ' compound' : ''}${isRoot ? ' root' : ''}`,
      'data-machine': chart.id,
      'data-state-id': n.id,
      'data-state-path': n.path,
      'data-state-type': n.type,
      'data-active': 'false',
    }, nodesLayer);
    const tip = [n.id, n.description, n.tags.length ? `tags: ${n.tags.join(', ')}` : ''].filter(Boolean).join('\n');
    el('title', {}, g).textContent = tip;
    el('rect', { class: 'box', x: n.x, y: n.y, width: n.width, height: n.height, rx: isRoot ? 12 : 9 }, g);
    if (n.type === 'final') el('rect', { class: 'inner', x: n.x + 3.5, y: n.y + 3.5, width: n.width - 7, height: n.height - 7, rx: 7 }, g);
    text(g, n.x + 10, n.y + 16, isRoot ? `#${chart.id}` : n.key + (n.type === 'final' ? '  (final)' : ''), 'title');
    if (n.lines.length > 0 || n.liveRowY !== null) el('line', { class: 'sep', x1: n.x + 1, x2: n.x + n.width - 1, y1: n.y + TITLE_H, y2: n.y + TITLE_H }, g);
    n.lines.forEach((line, i) => text(g, n.x + 10, n.y + TITLE_H + 12 + i * LINE_H, line, 'line'));
    const live = el('g', { class: 'live' }, g);
    chart.nodeEls.set(n.path, { g, live, node: n });
  }

  for (const m of layout.initialMarkers) el('circle', { class: 'initial', cx: m.cx, cy: m.cy, r: m.r }, edgesLayer);

  for (const e of layout.edges) {
    const observedOnly = e.events.length > 0 && e.events.every((ev) => ev === 'status_observed');
    const g = el('g', {
      class: `edge kind-${e.kind}${observedOnly ? ' observed' : ''}`,
      'data-edge-id': e.id,
      'data-source': e.source,
      'data-target': e.target,
      'data-source-path': byId.get(e.source)?.path ?? '',
      'data-target-path': byId.get(e.target)?.path ?? '',
      'data-events': e.events.join(' '),
    }, edgesLayer);
    const d = e.points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x},${y}`).join(' ');
    el('path', { d, 'marker-end': `url(#arrow-${chart.id})` }, g);
    if (e.lines.length > 0) el('title', {}, g).textContent = e.lines.join('\n');
    if (e.label && e.lines.length > 0) {
      const lg = el('g', { class: 'label' }, labelsLayer);
      lg.dataset.edgeId = e.id;
      if (observedOnly) lg.setAttribute('class', 'label observed');
      el('rect', { x: e.label.x - 1, y: e.label.y - 1, width: e.label.width + 2, height: e.label.height + 2, rx: 3 }, lg);
      e.lines.forEach((line, i) => text(lg, e.label.x + 3, e.label.y + 12 + i * LINE_H, line));
      // The label belongs to the edge for styling (observed / flash).
      g.labelEl = lg;
    }
    chart.edgeEls.push(g);
  }
  // Labels of status_observed-only edges take the edge's muted colour.
  for (const g of chart.edgeEls) if (g.labelEl && g.classList.contains('observed')) g.labelEl.classList.add('observed');
  card.appendChild(svg);
  chart.svg = svg;
  state.dirty.actors = true;
  state.dirty.live = true;
}

function buildChartCard(chart) {
  const card = document.createElement('article');
  card.className = 'chart';
  card.dataset.machine = chart.id;
  const hasObserved = chart.layouts.compact !== null;
  card.innerHTML = `
    <header>
      <h2>${esc(chart.title)}<code>${esc(chart.file)} · #${esc(chart.id)}</code></h2>
      <span class="tools">
        ${hasObserved ? `<label><input type="checkbox" data-toggle="observed"> show REST <code>status_observed</code> transitions</label> · ` : ''}
        <a href="/machines/${encodeURIComponent(chart.id)}.json" target="_blank">JSON</a>
      </span>
    </header>
    <p class="summary">${esc(chart.summary)}${hasObserved ? ' Hidden by default: <code>status_observed</code> (a REST read) moves a market to any status reachable from its own, never backwards.' : ''}</p>
    <div class="instances" data-instances></div>`;
  const toggle = card.querySelector('[data-toggle="observed"]');
  if (toggle) {
    toggle.addEventListener('change', () => {
      state.variant.set(chart.id, toggle.checked ? 'full' : 'compact');
      renderChart(chart);
      scheduleRender();
    });
  }
  chart.card = card;
  return card;
}

/** The innermost active states (one per region of a parallel state): ["a", "a.b", "c"] → ["a.b", "c"]. */
function leavesOf(paths) {
  return paths.filter((p) => !paths.some((q) => q.startsWith(`${p}.`)));
}

// Which actors run which machine, and where they are.
function updateActorHighlights() {
  for (const chart of state.charts) {
    if (!chart.nodeEls) continue;
    const actors = [...state.actors.values()].filter((a) => a.kind === 'machine' && a.machineId === chart.id);
    const activePaths = new Map(); // path -> 'active' | 'ended'
    const chipsAt = new Map(); // leaf path -> actors
    for (const a of actors) {
      const live = a.status === 'active' || a.status === 'done';
      for (const p of a.paths) if (live || !activePaths.has(p)) activePaths.set(p, live ? 'active' : activePaths.get(p) ?? 'ended');
      for (const leaf of leavesOf(a.paths)) {
        if (!chipsAt.has(leaf)) chipsAt.set(leaf, []);
        chipsAt.get(leaf).push(a);
      }
    }
    for (const [path, { g, live, node }] of chart.nodeEls) {
      if (chart.live === 'statusCounts') continue; // population, not actors (see updateStatusCounts)
      const mark = path === '' ? undefined : activePaths.get(path);
      g.classList.toggle('active', mark === 'active');
      g.classList.toggle('ended', mark === 'ended');
      g.setAttribute('data-active', mark === 'active' ? 'true' : 'false');
      live.replaceChildren();
      const here = chipsAt.get(path) ?? [];
      g.setAttribute('data-actors', here.map((a) => a.name).join(' '));
      if (node.liveRowY === null || here.length === 0) continue;
      let x = node.x + 8;
      for (const a of here.sort((p, q) => p.name.localeCompare(q.name))) {
        const w = Math.ceil(a.name.length * CHIP_CHAR_W) + 10;
        const chip = el('g', { class: `chip ${a.status}`, 'data-actor': a.name }, live);
        el('title', {}, chip).textContent = `${a.fullName}: ${a.status}${a.lastEvent ? `, last event ${shortEvent(a.lastEvent)}` : ''}`;
        el('rect', { x, y: node.liveRowY + 2, width: w, height: 15, rx: 7 }, chip);
        text(chip, x + 5, node.liveRowY + 13, a.name);
        x += w + 4;
      }
    }
    const inst = chart.card.querySelector('[data-instances]');
    if (chart.live === 'statusCounts') continue;
    inst.innerHTML = actors.length === 0
      ? '<span class="muted">no live instance</span>'
      : actors.map((a) => `<span title="${esc(a.fullName)}">${esc(a.name)}: ${esc(leavesOf(a.paths).join(', ') || a.status)}${a.status !== 'active' ? ` (${esc(a.status)})` : ''}</span>`).join('');
  }
}

function updateStatusCounts() {
  for (const chart of state.charts) if (chart.live === 'statusCounts') updateChartCounts(chart);
}

function updateChartCounts(chart) {
  const counts = state.stats?.statusCounts;
  if (!chart?.nodeEls || !counts) return;
  const total = Object.values(counts).reduce((s, n) => s + (n ?? 0), 0);
  chart.card.querySelector('[data-instances]').innerHTML = `<span>${fmt(total)} markets in the registry, by status</span><span>active ${fmt(counts.active ?? 0)}</span>`;
  for (const [path, { g, live, node }] of chart.nodeEls) {
    if (path === '' || !(path in counts)) continue;
    const n = counts[path] ?? 0;
    const before = g.getAttribute('data-count');
    if (before !== null && before !== String(n)) {
      g.classList.remove('pulse');
      void g.getBBox();
      g.classList.add('pulse');
    }
    g.setAttribute('data-count', String(n));
    g.classList.toggle('populated', n > 0);
    live.replaceChildren();
    if (node.liveRowY === null) continue;
    const share = total > 0 ? n / total : 0;
    const w = node.width - 16;
    el('rect', { class: 'share', x: node.x + 8, y: node.liveRowY + 2, width: Math.max(0, w * share), height: 15, rx: 3 }, live);
    text(live, node.x + 12, node.liveRowY + 14, `${fmt(n)} market${n === 1 ? "" : "s"}${total > 0 ? ` · ${(share * 100).toFixed(1)}%` : ''}`, 'count');
  }
}

function flashEdges(items) {
  const pairs = new Set(items.filter((c) => c.oldStatus && c.oldStatus !== c.newStatus).map((c) => `${c.oldStatus}>${c.newStatus}`));
  for (const chart of state.charts) if (chart.live === 'statusCounts' && chart.edgeEls) flashChart(chart, pairs);
}

function flashChart(chart, pairs) {
  for (const g of chart.edgeEls) {
    if (!pairs.has(`${g.getAttribute('data-source-path')}>${g.getAttribute('data-target-path')}`)) continue;
    g.classList.add('flash');
    clearTimeout(g.flashTimer);
    g.flashTimer = setTimeout(() => g.classList.remove('flash'), 900);
  }
}

// ---------------------------------------------------------------------------------------------
// Side panels

function kv(target, rows) {
  target.innerHTML = rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd title="${esc(v)}">${esc(v)}</dd>`).join('');
}

function renderLive() {
  const s = state.summary;
  const st = state.stats;
  if (s) {
    const phase = $('phase');
    phase.textContent = s.phase;
    phase.dataset.phase = s.phase;
    const ex = s.exchange;
    const exEl = $('exchange');
    exEl.textContent = ex ? (!ex.exchangeActive || ex.maintenance ? 'maintenance' : ex.tradingActive ? 'trading' : 'trading paused') : 'unknown';
    exEl.dataset.active = ex ? String(ex.exchangeActive && ex.tradingActive) : '';
    $('feed').textContent = s.lifecycle.source === 'none' ? 'REST only' : s.lifecycle.state;
    const expected = state.expectedMarkets;
    const done = s.sync.state === 'done';
    const ratio = done ? 1 : expected ? Math.min(1, s.sync.markets / expected) : 0;
    const bar = $('syncBar');
    bar.style.width = `${(ratio * 100).toFixed(1)}%`;
    bar.classList.toggle('done', done);
    const secs = s.sync.startedAt && (s.sync.finishedAt ?? null) ? ((s.sync.finishedAt - s.sync.startedAt) / 1e6).toFixed(2) : null;
    const problems = Object.entries(s.problems ?? {});
    kv($('sync'), [
      ['initial sync', `${s.sync.state}${s.sync.attempts > 1 ? ` (attempt ${s.sync.attempts})` : ''}`],
      ['markets paged', expected ? `${fmt(s.sync.markets)} / ${fmt(expected)}` : fmt(s.sync.markets)],
      ['pages', fmt(s.sync.pages)],
      ...(secs ? [['took', `${secs} s`]] : []),
      ['quarantined', fmt(s.sync.quarantined)],
      ['last reconcile', s.lastReconcile ? `${s.lastReconcile.mode}, ${fmt(s.lastReconcile.markets)} markets, ${fmt(s.lastReconcile.changes)} changes` : '–'],
      ['exchange', ex ? `active=${ex.exchangeActive} trading=${ex.tradingActive}${ex.estimatedResumeTs ? ` resume ${new Date(ex.estimatedResumeTs / 1000).toISOString()}` : ''}` : 'not polled yet'],
      ['lifecycle feed', `${s.lifecycle.source}: ${s.lifecycle.state}${s.lifecycle.error ? ` (${s.lifecycle.error})` : ''}`],
      ...problems.map(([k, v]) => [`problem: ${k}`, v]),
    ]);
  }
  if (st) {
    $('markets').textContent = fmt(st.markets);
    $('active').textContent = fmt(st.active);
    $('changeCount').textContent = fmt(st.counters.changes);
    $('rejectedCount').textContent = fmt(st.counters.rejected);
    const counts = st.statusCounts;
    const max = Math.max(1, ...STATUSES.map((k) => counts[k] ?? 0));
    const pop = $('population');
    if (pop.childElementCount === 0) {
      pop.innerHTML = STATUSES.map((k) => `<div class="name row-${k}">${k}</div><div class="track row-${k}"><div class="fill"></div></div><div class="num" data-status="${k}" data-count="0">0</div>`).join('');
    }
    for (const k of STATUSES) {
      const n = counts[k] ?? 0;
      const num = pop.querySelector(`.num[data-status="${k}"]`);
      num.textContent = fmt(n);
      num.dataset.count = String(n);
      pop.querySelector(`.track.row-${k} .fill`).style.width = `${(100 * n) / max}%`;
    }
    kv($('counters'), [
      ['changes published', fmt(st.counters.changes)],
      ['rejected', fmt(st.counters.rejected)],
      ['ignored after final', fmt(st.counters.ignoredAfterFinal)],
      ['quarantined', fmt(st.counters.quarantined)],
      ['stale REST reads', fmt(st.counters.staleObservations)],
      ['unknown tickers', fmt(st.counters.unknownTickerEvents)],
      ['WS frames', fmt(st.lifecycle.frames)],
      ['seq gaps / duplicates', `${fmt(st.lifecycle.gaps)} / ${fmt(st.lifecycle.duplicates)}`],
      ['reconciles', fmt(st.reconciles)],
      ['deadlines queued / fired', `${fmt(st.deadlines.queued)} / ${fmt(st.deadlines.fired)}`],
      ['change subscribers', fmt(st.changeStream.subscribers)],
      ['blocked publishes', fmt(st.changeStream.blockedPublishes)],
      ...(st.rest ? [['REST requests', fmt(st.rest.requests)]] : []),
      ...(st.socket ? [['WS connects', fmt(st.socket.connects)]] : []),
    ]);
    updateStatusCounts();
  }
}

// "xstate.done.actor.0.periodicTask.running" → "done: invoke"; "xstate.after.interval.…" → "after interval".
function shortEvent(type) {
  if (!type) return '';
  let m = /^xstate\.(done|error)\.actor\./.exec(type);
  if (m) return `${m[1]}: invoked actor`;
  m = /^xstate\.after\.([^.]+)\./.exec(type);
  if (m) return `after ${m[1]}`;
  if (type === 'xstate.init') return 'started';
  if (type === 'xstate.stop') return 'stopped';
  if (type === 'xstate.promise.resolve') return 'resolved';
  if (type === 'xstate.promise.reject') return 'rejected';
  return type;
}

function renderActors() {
  const rows = [...state.actors.values()].sort((a, b) => a.fullName.localeCompare(b.fullName));
  $('actors').querySelector('tbody').innerHTML = rows
    .map((a) => {
      const depth = a.fullName.split('/').length - 1;
      const where = a.kind === 'machine' ? leavesOf(a.paths).join(', ') : '';
      const status = a.status === 'active' ? (where || 'running') : `${where ? `${where} ` : ''}(${a.status})`;
      return `<tr class="${a.status === 'active' ? '' : 'ended'}" data-actor="${esc(a.fullName)}" data-status="${esc(a.status)}"><td>${'&nbsp;&nbsp;'.repeat(depth)}${esc(a.name)}</td><td class="st">${esc(status)}</td><td title="${esc(a.lastEvent ?? '')}">${esc(shortEvent(a.lastEvent))}</td></tr>`;
    })
    .join('');
  $('inspectionMode').textContent = state.inspection === 'events' ? 'from XState inspection events' : state.inspection === 'polling' ? 'polled' : '';
}

// Context: the plain values of one actor's context (from inspection snapshots, e.g. the
// supervisor's decisions), for whichever actor is chosen; the root actor by default.
// A number named …At / …Ts / …Time in the range of epoch milliseconds (or microseconds) is a time.
function epochMs(key, v) {
  if (typeof v !== 'number' || !/(At|Ts|Time)$/.test(key)) return null;
  if (v >= 1e12 && v < 1e14) return v;
  if (v >= 1e15 && v < 1e17) return v / 1000;
  return null;
}

function contextText(key, v) {
  if (v === null) return 'null';
  const ms = epochMs(key, v);
  if (ms !== null) {
    const ago = Math.round((Date.now() - ms) / 1000);
    return `${clock(ms)} (${ago >= 0 ? `${ago} s ago` : `in ${-ago} s`})`;
  }
  return typeof v === 'number' ? fmt(v) : String(v);
}

function renderContext() {
  const select = $('contextActor');
  const list = $('context');
  const actors = [...state.actors.values()].filter((a) => a.context).sort((a, b) => a.fullName.localeCompare(b.fullName));
  const chosen = actors.find((a) => a.fullName === state.contextActor) ?? actors.find((a) => a.parent === null) ?? actors[0];
  const names = actors.map((a) => a.fullName).join('\n');
  if (select.dataset.names !== names) {
    select.innerHTML = actors.map((a) => `<option value="${esc(a.fullName)}">${esc(a.fullName)}</option>`).join('');
    select.dataset.names = names;
  }
  if (chosen) select.value = chosen.fullName;
  select.disabled = actors.length === 0;
  list.dataset.actor = chosen?.fullName ?? '';
  if (!chosen) {
    list.innerHTML = `<dt class="muted">${state.inspection === 'polling' ? 'not available when polled (no inspection tracker)' : 'no actor context yet'}</dt><dd></dd>`;
    return;
  }
  const entries = Object.entries(chosen.context);
  list.innerHTML = entries.length === 0
    ? '<dt class="muted">empty</dt><dd></dd>'
    : entries.map(([k, v]) => `<dt>${esc(k)}</dt><dd data-key="${esc(k)}" data-type="${v === null ? 'null' : typeof v}" title="${esc(v)}">${esc(contextText(k, v))}</dd>`).join('');
}

function statusSpan(s) {
  return s ? `<span class="s s-${esc(s)}">${esc(s)}</span>` : '<span class="s">new</span>';
}

function renderChanges(fresh) {
  const list = $('changes');
  list.innerHTML = state.changes
    .map((c) => `<li data-ticker="${esc(c.ticker)}" data-event-type="${c.eventType}" data-new-status="${esc(c.newStatus)}" class="${fresh.has(c.seq) ? 'new' : ''}" title="${esc(c.title ?? '')}"><span class="t">${clock(c.at)}</span><span class="what"><span class="tk">${esc(c.ticker)}</span> ${statusSpan(c.oldStatus)} → ${statusSpan(c.newStatus)}${c.eventType === 'status_change' ? '' : ` <span class="muted">${c.eventType}</span>`}</span></li>`)
    .join('');
}

function renderRejected() {
  $('rejected').innerHTML = state.rejected.length === 0
    ? '<li class="muted"><span></span><span>none</span></li>'
    : state.rejected
      .map((r) => `<li data-ticker="${esc(r.ticker)}"><span class="t">${clock(r.at)}</span><span class="what"><span class="tk">${esc(r.ticker)}</span> ${statusSpan(r.status)} ✕ <b>${esc(r.event)}</b> <span class="muted">via ${esc(r.source)}</span></span></li>`)
      .join('');
}

// ---------------------------------------------------------------------------------------------
// Live feed

let frame = 0;
let freshChanges = new Set();
function scheduleRender() {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    if (state.dirty.live) renderLive();
    if (state.dirty.actors) {
      renderActors();
      renderContext();
      updateActorHighlights();
    }
    if (state.dirty.changes) {
      renderChanges(freshChanges);
      if (state.flashes.length > 0) flashEdges(state.flashes);
      state.flashes = [];
      freshChanges = new Set();
    }
    if (state.dirty.rejected) renderRejected();
    state.dirty = { actors: false, live: false, changes: false, rejected: false };
  });
}

function onTick(msg) {
  if (msg.actors || msg.removedActors) {
    for (const a of msg.actors ?? []) state.actors.set(a.sessionId, a);
    for (const id of msg.removedActors ?? []) state.actors.delete(id);
    state.dirty.actors = true;
  }
  if (msg.changes?.length) {
    for (const c of msg.changes) freshChanges.add(c.seq);
    state.changes = [...msg.changes.slice().reverse(), ...state.changes].slice(0, MAX_ROWS);
    state.flashes.push(...msg.changes);
    state.dirty.changes = true;
  }
  if (msg.rejected?.length) {
    state.rejected = [...msg.rejected.slice().reverse(), ...state.rejected].slice(0, MAX_ROWS);
    state.dirty.rejected = true;
  }
  if (msg.summary) {
    state.summary = msg.summary;
    state.stats = msg.stats;
    state.expectedMarkets = msg.expectedMarkets;
    state.dirty.live = true;
  }
  scheduleRender();
}

// ---------------------------------------------------------------------------------------------
// How fresh the data is. Never shows stale data as live: anything but 'live' greys the page out.

function registryStopped() {
  if (state.summary?.phase === 'stopped') return true;
  const root = [...state.actors.values()].find((a) => a.parent === null && a.kind === 'machine');
  return root !== undefined && root.status !== 'active';
}

function feedState() {
  const f = state.feed;
  if (f.error) return { state: 'lost', label: f.error };
  if (f.socket !== 'open') return f.everOpen ? { state: 'lost', label: 'connection lost · retrying' } : { state: 'connecting', label: 'connecting…' };
  if (!f.dataSinceOpen) return { state: 'connecting', label: 'connecting…' };
  if (registryStopped()) return { state: 'stopped', label: 'registry stopped' };
  const quiet = Date.now() - f.lastDataAt;
  if (quiet > STALE_AFTER_MS) return { state: 'stale', label: `no data for ${Math.round(quiet / 1000)} s` };
  return { state: 'live', label: 'live' };
}

function renderFeed() {
  const { state: feed, label } = feedState();
  const since = state.feed.lastDataAt ? ` (last data ${clock(state.feed.lastDataAt)})` : '';
  document.body.dataset.feed = feed;
  const status = $('feedStatus');
  status.dataset.state = feed;
  if (status.textContent !== label) status.textContent = label;
  status.title = feed === 'live' ? 'receiving live data from the registry' : `${label}: what the page shows is not current${since}`;
  const conn = $('conn');
  conn.dataset.state = feed;
  conn.title = status.title;
}
setInterval(renderFeed, 1000);

let retry = 0;
function connect() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  ws.onopen = () => {
    retry = 0;
    Object.assign(state.feed, { socket: 'open', everOpen: true, dataSinceOpen: false });
    renderFeed();
  };
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.type === 'tick') {
      Object.assign(state.feed, { dataSinceOpen: true, lastDataAt: Date.now() });
      onTick(msg);
      renderFeed();
    } else if (msg.type === 'hello') {
      state.inspection = msg.inspection;
      // A reconnect starts from scratch: the server resends everything on a new connection.
      state.actors.clear();
      state.changes = [];
      state.rejected = [];
      state.dirty = { actors: true, live: true, changes: true, rejected: true };
    }
  };
  ws.onclose = () => {
    state.feed.socket = 'closed';
    renderFeed();
    setTimeout(connect, Math.min(5000, 250 * 2 ** retry++));
  };
}

async function main() {
  renderFeed();
  $('contextActor').addEventListener('change', (e) => {
    state.contextActor = e.target.value;
    renderContext();
  });
  const res = await fetch('/api/graphs');
  if (!res.ok) throw new Error(`GET /api/graphs: HTTP ${res.status}`);
  const { machines } = await res.json();
  const host = $('charts');
  $('chartsLoading').remove();
  for (const chart of machines) {
    state.charts.push(chart);
    state.chartById.set(chart.id, chart);
    host.appendChild(buildChartCard(chart));
    renderChart(chart);
  }
  $('machineLinks').innerHTML = machines.map((m) => `<a href="/machines/${encodeURIComponent(m.id)}.json">${esc(m.id)}.json</a>`).join(', ');
  document.body.dataset.ready = 'true';
  connect();
  scheduleRender();
}

main().catch((err) => {
  $('charts').textContent = `Could not load the statecharts: ${err}`;
  state.feed.error = 'could not load the statecharts';
  renderFeed();
});
