namespace Relay.CoreSim.Http;

/// <summary>
/// The fleet dashboard page (GET /). Live from GET /v1/fleet/stream (server-sent events; falls back to polling /fleet
/// every second). Shows whatever each relay in /fleet carries: relayId, region, links, streams, rttMs, and when the
/// relays' health reports are there, state, reasons, sessions and message counters; the regions (issue 17: relays,
/// users, users away, fallback, a rebalance button each) and the last steering decisions. No external assets. The buttons
/// that change something (drain/undrain, faults) ask once for core-sim's admin key (kept in sessionStorage for the tab)
/// and send it as <c>Authorization: Bearer</c>; no cookies, so no other site can make a browser use it.
/// </summary>
internal static class DashboardPage
{
    public const string Html = """
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Relay fleet</title>
<style>
  :root { --bg:#0b1020; --card:#121a2e; --line:#223052; --fg:#e6ebf5; --dim:#8a98b8; --ok:#22c55e; --warn:#f59e0b; --bad:#ef4444; --drain:#a78bfa; --accent:#38bdf8; }
  * { box-sizing:border-box; }
  body { margin:0; font:14px/1.45 system-ui, sans-serif; background:var(--bg); color:var(--fg); }
  header { display:flex; gap:18px; align-items:baseline; padding:14px 22px; border-bottom:1px solid var(--line); flex-wrap:wrap; }
  header h1 { margin:0; font-size:19px; }
  .dim { color:var(--dim); }
  #live[data-mode=sse] { color:var(--ok); } #live[data-mode=poll] { color:var(--warn); } #live[data-mode=down] { color:var(--bad); }
  main { padding:18px 22px; display:grid; grid-template-columns: minmax(0,1fr) 430px; gap:18px; }
  @media (max-width: 1100px) { main { grid-template-columns: 1fr; } }
  section.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:14px 16px; margin-bottom:18px; }
  section.card h2 { margin:0 0 10px; font-size:15px; }
  .totals { display:flex; gap:22px; flex-wrap:wrap; }
  .totals div b { display:block; font-size:22px; }
  table { width:100%; border-collapse:collapse; }
  th, td { text-align:left; padding:7px 8px; border-bottom:1px solid var(--line); vertical-align:middle; }
  th { color:var(--dim); font-weight:normal; font-size:12px; }
  td.num { font-variant-numeric: tabular-nums; }
  .state { display:inline-block; padding:1px 8px; border-radius:10px; font-weight:600; font-size:12px; background:#1e293b; }
  .state[data-state=healthy] { color:var(--ok); } .state[data-state=degraded] { color:var(--warn); } .state[data-state=sick] { color:var(--bad); }
  .state[data-state=draining] { color:var(--drain); } .state[data-state=disconnected] { color:var(--bad); } .state[data-state=connected] { color:var(--accent); }
  tr.gone td { opacity:.55; }
  .reasons { color:var(--dim); font-size:12px; max-width:260px; }
  button { background:#1e3a8a; color:white; border:0; border-radius:6px; padding:4px 10px; cursor:pointer; font-size:12px; }
  button.warn { background:#7c2d12; } button:disabled { opacity:.4; cursor:default; }
  svg.chart { display:block; }
  form.fault { display:flex; gap:6px; align-items:center; flex-wrap:wrap; margin:6px 0; }
  form.fault label { min-width:92px; color:var(--dim); font-size:12px; }
  input, select { background:#0b1222; color:var(--fg); border:1px solid var(--line); border-radius:5px; padding:3px 6px; width:70px; }
  select { width:120px; }
  pre { white-space:pre-wrap; font-size:12px; background:#0b1222; padding:8px; border-radius:6px; max-height:260px; overflow:auto; }
  #events { list-style:none; margin:0; padding:0; max-height:260px; overflow:auto; font-size:12px; }
  #events li { padding:2px 0; border-bottom:1px dashed var(--line); }
  .legend span { margin-right:12px; font-size:12px; }
  .attack { color:var(--bad); font-weight:600; font-size:12px; border:1px solid var(--bad); border-radius:4px; padding:0 4px; }
  #regions-body .region { border-top:1px solid var(--line); padding:8px 0; }
  #regions-body .region:first-child { border-top:0; }
  #regions-body .region h3 { margin:0 0 4px; font-size:14px; display:flex; gap:12px; align-items:baseline; flex-wrap:wrap; }
  #regions-body .relay { display:inline-block; margin:2px 10px 2px 0; font-size:12px; }
  #steering { list-style:none; margin:0; padding:0; max-height:320px; overflow:auto; font-size:12px; }
  #steering li { padding:3px 0; border-bottom:1px dashed var(--line); }
  #steering .left { color:var(--dim); }
  .kv { display:grid; grid-template-columns:auto 1fr; gap:2px 12px; font-size:13px; }
</style></head>
<body>
<header>
  <h1>Relay fleet</h1>
  <span id="node" class="dim"></span>
  <span id="live" data-mode="down">connecting…</span>
  <span id="updated" class="dim"></span>
</header>
<main>
  <div>
    <section class="card">
      <div class="totals">
        <div><b id="t-relays">–</b><span class="dim">relays</span></div>
        <div><b id="t-sessions">–</b><span class="dim">core sessions</span></div>
        <div><b id="t-direct">–</b><span class="dim">direct</span></div>
        <div><b id="t-relayed">–</b><span class="dim">relayed</span></div>
        <div><b id="t-rooms">–</b><span class="dim">rooms</span></div>
      </div>
    </section>
    <section class="card">
      <h2>Relays</h2>
      <div class="legend dim"><span style="color:var(--accent)">━ sessions</span><span style="color:var(--warn)">━ link RTT</span><span style="color:var(--ok)">━ messages/s</span> last 60 s</div>
      <table id="relays">
        <thead><tr><th>relay</th><th>region</th><th>state</th><th>sessions</th><th>links</th><th>link RTT</th><th>msg/s</th><th>history</th><th></th></tr></thead>
        <tbody></tbody>
      </table>
      <p id="no-relays" class="dim">No relay connected.</p>
    </section>
    <section class="card" id="cluster" hidden>
      <h2>Core cluster <span class="dim" id="cluster-broker" style="font-weight:normal;font-size:12px"></span></h2>
      <table>
        <thead><tr><th>node</th><th>state</th><th>sessions</th><th>last seen</th><th>broker RTT</th></tr></thead>
        <tbody id="cluster-body"></tbody>
      </table>
    </section>
    <section class="card" id="regions">
      <h2>Regions</h2>
      <div id="regions-body"></div>
      <p id="no-regions" class="dim">No region known (no regions file, no relay reporting one).</p>
    </section>
    <section class="card" id="steering-card">
      <h2>Steering decisions <span class="dim" style="font-weight:normal;font-size:12px">(the last negotiate answers, newest first)</span></h2>
      <ul id="steering"></ul>
      <p id="no-steering" class="dim">No negotiate call yet.</p>
    </section>
    <section class="card">
      <h2>Events</h2>
      <ul id="events"></ul>
    </section>
  </div>
  <div>
    <section class="card" id="faults">
      <h2>Fault injection</h2>
      <form class="fault" data-fault="latency"><label>latency</label><select name="relayId"><option value="">every relay</option></select>
        <input name="ms" type="number" min="0" value="100" title="ms"><input name="jitterMs" type="number" min="0" value="20" title="jitter ms"><button>set</button></form>
      <form class="fault" data-fault="slow"><label>slow core</label><input name="ms" type="number" min="0" value="50" title="ms per message"><button>set</button></form>
      <form class="fault" data-fault="refuse-streams"><label>refuse streams</label><select name="on"><option value="true">on</option><option value="false">off</option></select><button>set</button></form>
      <form class="fault" data-fault="drop-link"><label>drop a link</label><select name="relayId"></select><button class="warn">drop</button></form>
      <form class="fault" data-fault="drop-relay"><label>drop all links</label><select name="relayId"></select><button class="warn">drop</button></form>
      <form class="fault" data-fault="kick"><label>kick sessions</label><input name="count" type="number" min="1" value="10" title="count"><input name="code" type="number" value="1001" title="close code"><button class="warn">kick</button></form>
      <form class="fault" data-fault="stall"><label>stall session</label><input name="session" placeholder="session id" style="width:150px"><button class="warn">stall</button></form>
      <form class="fault" data-fault="clear"><label>all faults</label><button>clear</button></form>
      <div class="dim">active:</div><pre id="fault-state">–</pre>
    </section>
    <section class="card" id="load">
      <h2>Latest load-generator report <button id="load-refresh" type="button">refresh</button></h2>
      <div id="load-body" class="dim">loading…</div>
    </section>
  </div>
</main>
<script>
(function () {
  'use strict';
  const HISTORY = 120; // samples (500 ms each with SSE)
  const relays = new Map(); // relayId -> {last, history:[{t,sessions,rtt,mps}], prev:{t,count}, gone}
  const $ = id => document.getElementById(id);
  const esc = s => String(s == null ? '' : s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

  function event(text) {
    const li = document.createElement('li');
    li.textContent = new Date().toLocaleTimeString() + '  ' + text;
    $('events').prepend(li);
    while ($('events').children.length > 200) $('events').lastChild.remove();
  }

  // Health-report fields are optional: show what the fleet view has.
  const stateOf = r => r.state || (r.links > 0 ? 'connected' : 'disconnected');
  const sessionsOf = r => typeof r.sessions === 'number' ? r.sessions : (typeof r.sessions === 'object' && r.sessions && typeof r.sessions.count === 'number' ? r.sessions.count : r.streams);
  const reasonsOf = r => Array.isArray(r.reasons) ? r.reasons.map(x => typeof x === 'string' ? x : (x.reason || x.message || JSON.stringify(x))) : (r.reason ? [r.reason] : []);
  function messageCounter(r) {
    const sv = r.report && r.report.signals && r.report.signals.sessions && r.report.signals.sessions.values;
    if (sv && (typeof sv.messagesIn === 'number' || typeof sv.messagesOut === 'number')) return (sv.messagesIn || 0) + (sv.messagesOut || 0);
    if (typeof r.messagesIn === 'number' || typeof r.messagesOut === 'number') return (r.messagesIn || 0) + (r.messagesOut || 0);
    if (typeof r.messages === 'number') return r.messages;
    if (r.messages && typeof r.messages === 'object') return (r.messages.in || 0) + (r.messages.out || 0);
    return null;
  }

  function apply(fleet) {
    const now = Date.now();
    $('node').textContent = 'core ' + (fleet.node || '');
    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
    $('t-sessions').textContent = fleet.sessions ?? '–';
    $('t-direct').textContent = fleet.directConnections ?? '–';
    $('t-relayed').textContent = fleet.relayedConnections ?? '–';
    $('t-rooms').textContent = fleet.rooms ?? '–';
    const seen = new Set();
    for (const r of fleet.relays || []) {
      seen.add(r.relayId);
      let e = relays.get(r.relayId);
      if (!e) { e = { history: [], prev: null }; relays.set(r.relayId, e); event(r.relayId + ' (' + r.region + ') connected'); }
      const state = stateOf(r);
      const wasAttacked = !!(e.last && e.last.report && e.last.report.underAttack && e.last.report.underAttack.on);
      const isAttacked = !!(r.report && r.report.underAttack && r.report.underAttack.on);
      if (e.last && wasAttacked !== isAttacked) event(r.relayId + ': under attack ' + (isAttacked ? 'on (' + r.report.underAttack.source + ': ' + (r.report.underAttack.trigger || '') + ')' : 'off'));
      if (e.last && stateOf(e.last) !== state) event(r.relayId + ': ' + stateOf(e.last) + ' → ' + state + (reasonsOf(r).length ? ' (' + reasonsOf(r).join('; ') + ')' : ''));
      if (e.gone) { e.gone = false; if (!e.last || stateOf(e.last) === state) event(r.relayId + ' back'); }
      let mps = typeof r.messagesPerSecond === 'number' ? r.messagesPerSecond : null;
      const count = messageCounter(r);
      if (mps === null && count !== null) {
        if (e.prev && now > e.prev.t) mps = Math.max(0, (count - e.prev.count) * 1000 / (now - e.prev.t));
        e.prev = { t: now, count };
      }
      const prevSessions = e.last ? sessionsOf(e.last) : null;
      if (prevSessions !== null && sessionsOf(r) !== prevSessions && Math.abs(sessionsOf(r) - prevSessions) >= 2) event(r.relayId + ': sessions ' + prevSessions + ' → ' + sessionsOf(r));
      e.last = r;
      e.mps = mps;
      e.history.push({ t: now, sessions: sessionsOf(r) || 0, rtt: r.rttMs, mps });
      if (e.history.length > HISTORY) e.history.shift();
    }
    for (const [id, e] of relays) {
      if (!seen.has(id) && !e.gone) { e.gone = true; event(id + ' disconnected (no link)'); }
      if (e.gone) { e.history.push({ t: now, sessions: 0, rtt: null, mps: 0 }); if (e.history.length > HISTORY) e.history.shift(); }
    }
    $('t-relays').textContent = (fleet.relays || []).length;
    render();
    renderCluster(fleet.cluster);
    renderRegions(fleet.regions || []);
    renderSteering(fleet.steering || []);
  }

  // ---- core cluster (issue 20): every node, its sessions, the broker's health ----
  let clusterState = null;
  function renderCluster(c) {
    $('cluster').hidden = !c;
    if (!c) return;
    if (clusterState !== null && clusterState !== c.state) event('broker ' + c.broker + ': ' + clusterState + ' → ' + c.state + (c.reason ? ' (' + c.reason + ')' : ''));
    clusterState = c.state;
    $('cluster-broker').textContent = 'broker ' + c.broker + ': ' + c.state + (c.reason ? ' (' + c.reason + ')' : '') + (c.pingMs != null ? ', ' + c.pingMs.toFixed(2) + ' ms' : '');
    $('cluster-body').innerHTML = (c.nodes || []).map(n => '<tr data-node="' + esc(n.node) + '"><td>' + esc(n.node) + '</td>' +
      '<td><span class="state" data-state="' + (n.state === 'up' ? 'healthy' : 'sick') + '">' + esc(n.state) + '</span></td>' +
      '<td class="num">' + esc(n.sessions) + '</td><td class="num">' + esc((n.lastSeenMsAgo / 1000).toFixed(1)) + ' s ago</td>' +
      '<td class="num">' + esc(n.pingMs != null ? n.pingMs.toFixed(2) + ' ms' : '–') + '</td></tr>').join('');
  }

  // ---- regions (issue 17): relays with state and sessions, users served, users away, fallback; rebalance ----
  function renderRegions(regions) {
    $('no-regions').style.display = regions.length ? 'none' : '';
    setHtml($('regions-body'), regions.map(g => {
      const away = typeof g.usersAway === 'number'
        ? ' · <span class="away">' + esc(g.usersAway) + '</span> of its users on other regions\' relays' + (g.usersAway ? ' (' + Object.entries(g.away || {}).map(([id, n]) => esc(id) + ': ' + esc(n)).join(', ') + ')' : '')
        : '';
      const relays = (g.relays || []).map(r => '<span class="relay" data-relay="' + esc(r.id) + '"><b>' + esc(r.id) + '</b> <span class="state" data-state="' + esc(r.state) + '">' + esc(r.state) + '</span> <span class="sessions">' + esc(r.sessions) + '</span> sessions</span>').join('');
      return '<div class="region" data-region="' + esc(g.name) + '" data-ready="' + (g.ready ? 'true' : 'false') + '">' +
        '<h3><span>' + esc(g.name) + '</span><span class="dim">users <b class="users">' + esc(g.users) + '</b>' + away + '</span>' +
        '<span class="dim">fallback: <span class="fallback">' + esc((g.fallback || []).join(' → ') || '–') + '</span></span>' +
        '<button data-rebalance="' + esc(g.name) + '"' + (g.ready && g.source === 'regions file' ? '' : ' disabled') + ' title="close its users\' sessions on other regions\' relays (4001, in batches): they reconnect home">rebalance</button></h3>' +
        '<div>' + (relays || '<span class="dim">no relay</span>') + '</div>' +
        '<div class="dim" style="font-size:11px">' + esc(g.source) + ((g.subnets || []).length ? ' · subnets ' + esc(g.subnets.join(', ')) : '') + '</div></div>';
    }).join(''));
  }

  // Replaces an element's content only when it changed: the stream sends every 500 ms, and a button rebuilt that often
  // could lose the operator's click.
  function setHtml(el, html) {
    if (el.dataset.html !== html) { el.innerHTML = html; el.dataset.html = html; }
  }

  function renderSteering(decisions) {
    $('no-steering').style.display = decisions.length ? 'none' : '';
    setHtml($('steering'), decisions.map(d => {
      const how = d.how === 'address' ? 'address in ' + d.subnet : d.how === '?region=' ? 'asked ?region=' + d.region : d.how;
      const fell = d.servedBy && d.servedBy !== d.region ? ' → served by ' + esc(d.servedBy) : '';
      const left = (d.leftOut || []).map(l => esc(l.id) + ' (' + esc(l.why) + ')').join(', ');
      return '<li data-region="' + esc(d.region) + '" data-how="' + esc(d.how) + '"><span class="dim">' + esc(new Date(d.at).toLocaleTimeString()) + '</span> ' +
        esc(d.from || '?') + ' → <b>' + esc(d.region || '–') + '</b> <span class="dim">(' + esc(how) + ')</span>' + fell + (d.token ? ' <span class="dim">+token</span>' : '') +
        ': <span class="relays">' + esc((d.relays || []).join(', ') || 'no relay') + '</span>' +
        (left ? '<div class="left">left out: ' + left + '</div>' : '') + '</li>';
    }).join(''));
  }

  $('regions-body').addEventListener('click', async ev => {
    const b = ev.target.closest('button[data-rebalance]');
    if (!b) return;
    b.disabled = true;
    const region = b.dataset.rebalance;
    try {
      const r = await adminFetch('/v1/regions/' + encodeURIComponent(region) + '/rebalance', { method: 'POST' });
      const body = await r.json().catch(() => ({}));
      event('rebalance ' + region + ': ' + (r.ok ? body.message + ((body.sentTo || []).length ? ' (' + body.sentTo.map(s => s.relayId + ': ' + s.sessions).join(', ') + ')' : '') : 'failed: ' + (body.error || r.status)));
    } catch (e) { event('rebalance ' + region + ': ' + e.message); }
    finally { b.disabled = false; }
  });

  function chart(h) {
    const W = 180, H = 40;
    const line = (vals, color) => {
      const nums = vals.filter(v => typeof v === 'number');
      if (!nums.length) return '';
      const max = Math.max(1, ...nums);
      const off = HISTORY - vals.length; // newest sample at the right edge
      const pts = vals.map((v, i) => typeof v === 'number' ? (((i + off) / (HISTORY - 1)) * W).toFixed(1) + ',' + (H - 2 - (v / max) * (H - 4)).toFixed(1) : null).filter(Boolean);
      return '<polyline fill="none" stroke="' + color + '" stroke-width="1.5" points="' + pts.join(' ') + '"/>';
    };
    return '<svg class="chart" width="' + W + '" height="' + H + '" viewBox="0 0 ' + W + ' ' + H + '">' +
      '<rect width="' + W + '" height="' + H + '" fill="#0b1222" rx="4"/>' +
      line(h.map(x => x.sessions), '#38bdf8') + line(h.map(x => x.rtt), '#f59e0b') + line(h.map(x => x.mps), '#22c55e') + '</svg>';
  }

  function render() {
    const rows = [];
    for (const [id, e] of [...relays].sort((a, b) => a[0].localeCompare(b[0]))) {
      const r = e.last;
      const state = e.gone ? 'disconnected' : stateOf(r);
      const reasons = e.gone ? ['no backhaul link'] : reasonsOf(r);
      const draining = state === 'draining';
      const ua = !e.gone && r.report && r.report.underAttack; // Under Attack mode (issue 16)
      const attacked = !!(ua && ua.on);
      const uaRefused = ua && ua.refused ? Object.values(ua.refused).reduce((a, b) => a + b, 0) : 0;
      rows.push('<tr data-relay="' + esc(id) + '" data-state="' + esc(state) + '"' + (e.gone ? ' class="gone"' : '') + '>' +
        '<td><b>' + esc(id) + '</b></td><td>' + esc(r.region) + '</td>' +
        '<td><span class="state" data-state="' + esc(state) + '">' + esc(state) + '</span>' +
          (attacked ? ' <span class="attack" title="' + esc((ua.source || '') + ': ' + (ua.trigger || '') + ' since ' + (ua.since || '')) + '">under attack</span>' : '') +
          '<div class="reasons">' + esc(reasons.join('; ')) + (ua && (attacked || uaRefused) ? '<br>under attack: ' + esc(attacked ? (ua.source + ', ' + (ua.trigger || '')) : 'off') + ' · refused ' + esc(uaRefused) : '') + '</div></td>' +
        '<td class="num sessions">' + esc(e.gone ? 0 : sessionsOf(r)) + '</td>' +
        '<td class="num">' + esc(e.gone ? 0 : r.links) + '</td>' +
        '<td class="num">' + (typeof r.rttMs === 'number' && !e.gone ? r.rttMs.toFixed(2) + ' ms' : '–') + '</td>' +
        '<td class="num">' + (typeof e.mps === 'number' ? e.mps.toFixed(1) : '–') + '</td>' +
        '<td>' + chart(e.history) + '</td>' +
        '<td><button data-cmd="' + (draining ? 'undrain' : 'drain') + '" data-relay="' + esc(id) + '"' + (e.gone ? ' disabled' : '') + (draining ? '' : ' class="warn"') + '>' + (draining ? 'undrain' : 'drain') + '</button>' +
        ' <button data-cmd="under-attack/' + (attacked ? 'off' : 'on') + '" data-relay="' + esc(id) + '"' + (e.gone ? ' disabled' : '') + (attacked ? '' : ' class="warn"') + '>' + (attacked ? 'end under attack' : 'under attack') + '</button></td></tr>');
    }
    document.querySelector('#relays tbody').innerHTML = rows.join('');
    $('no-relays').style.display = rows.length ? 'none' : '';
    const connected = [...relays].filter(([, e]) => !e.gone).map(([id]) => id);
    for (const sel of document.querySelectorAll('select[name=relayId]')) {
      const keep = sel.value;
      const any = sel.closest('form').dataset.fault === 'latency';
      const want = (any ? [''] : []).concat(connected);
      if ([...sel.options].map(o => o.value).join('|') !== want.join('|')) {
        sel.innerHTML = want.map(v => '<option value="' + esc(v) + '">' + (v ? esc(v) : 'every relay') + '</option>').join('');
        if (want.includes(keep)) sel.value = keep;
      }
    }
  }

  // ---- admin key: asked once, kept for this tab, sent as a header (never a cookie) ----
  const KEY = 'relay-core-admin-key';
  function adminKey() {
    let k = sessionStorage.getItem(KEY);
    if (!k) {
      k = (prompt('core-sim admin key (CoreSim:AdminKey; in Development printed at start-up):') || '').trim();
      if (k) sessionStorage.setItem(KEY, k);
    }
    return k || '';
  }
  async function adminFetch(url, init) {
    const r = await fetch(url, { ...init, headers: { ...(init.headers || {}), authorization: 'Bearer ' + adminKey() } });
    if (r.status === 401) sessionStorage.removeItem(KEY); // asked again next time
    return r;
  }

  document.querySelector('#relays tbody').addEventListener('click', async ev => {
    const b = ev.target.closest('button[data-cmd]');
    if (!b) return;
    b.disabled = true;
    const id = b.dataset.relay, cmd = b.dataset.cmd;
    try {
      const r = await adminFetch('/v1/relays/' + encodeURIComponent(id) + '/' + cmd, { method: 'POST' });
      const body = await r.json().catch(() => ({}));
      event(cmd + ' ' + id + ': ' + (r.ok ? 'command sent over the backhaul' : 'failed: ' + (body.error || r.status)));
    } catch (e) { event(cmd + ' ' + id + ': ' + e.message); }
  });

  // ---- live: server-sent events, polling as a fallback ----
  let pollTimer = null;
  function setLive(mode, text) { $('live').dataset.mode = mode; $('live').textContent = text; }
  async function poll() {
    try { apply(await (await fetch('/fleet', { cache: 'no-store' })).json()); setLive('poll', '● polling /fleet (1 s)'); }
    catch { setLive('down', '● core-sim unreachable'); }
  }
  function startPolling() { if (!pollTimer) { poll(); pollTimer = setInterval(poll, 1000); } }
  if (typeof EventSource === 'function') {
    const es = new EventSource('/v1/fleet/stream');
    es.addEventListener('fleet', ev => {
      if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
      setLive('sse', '● live (server-sent events)');
      apply(JSON.parse(ev.data));
    });
    es.onerror = () => { setLive('down', '● stream interrupted, retrying…'); startPolling(); };
  } else {
    startPolling();
  }

  // ---- faults ----
  async function refreshFaults() {
    try { $('fault-state').textContent = JSON.stringify(await (await fetch('/v1/faults', { cache: 'no-store' })).json(), null, 1); } catch { /* shown stale */ }
  }
  for (const form of document.querySelectorAll('form.fault')) {
    form.addEventListener('submit', async ev => {
      ev.preventDefault();
      const kind = form.dataset.fault;
      const data = {};
      for (const el of form.elements) {
        if (!el.name) continue;
        if (el.name === 'on') data.on = el.value === 'true';
        else if (el.type === 'number') data[el.name] = Number(el.value);
        else if (el.name === 'relayId') { if (el.value) data.relayId = el.value; }
        else data[el.name] = el.value;
      }
      const r = kind === 'clear'
        ? await adminFetch('/v1/faults', { method: 'DELETE' })
        : await adminFetch('/v1/faults/' + kind, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(data) });
      const text = await r.text();
      event('fault ' + kind + ' ' + JSON.stringify(data) + ': ' + (r.ok ? 'ok' : 'HTTP ' + r.status) + (kind.startsWith('drop') || kind === 'kick' ? ' ' + text : ''));
      refreshFaults();
    });
  }
  refreshFaults();
  setInterval(refreshFaults, 5000);

  // ---- latest load report ----
  async function loadReport() {
    const el = $('load-body');
    try {
      const r = await fetch('/v1/load/latest', { cache: 'no-store' });
      const j = await r.json();
      if (!r.ok) { el.textContent = j.error + (j.searched ? ' in ' + j.searched.join(', ') : ''); return; }
      const x = j.result || {};
      const p = x.latencyMs || {};
      const rows = [['scenario', x.scenario], ['when', new Date(j.modifiedAt).toLocaleString()], ['sessions', (x.connected ?? '?') + ' / ' + (x.sessions ?? '?')],
        ['sent / received', (x.sent ?? '?') + ' / ' + (x.received ?? '?')], ['lost / dup / reordered', [x.lost, x.duplicated, x.outOfOrder].join(' / ')],
        ['messages/s', typeof x.messagesPerSecond === 'number' ? x.messagesPerSecond.toFixed(0) : '?'],
        ['latency p50 / p99 / p99.9', [p.p50, p.p99, p.p999].map(v => typeof v === 'number' ? v.toFixed(2) : '?').join(' / ') + ' ms'],
        ['reconnects', x.reconnects]];
      el.className = '';
      el.innerHTML = '<div class="kv">' + rows.map(([k, v]) => '<span class="dim">' + esc(k) + '</span><span>' + esc(v) + '</span>').join('') + '</div>' +
        '<div class="dim" style="margin-top:6px;font-size:11px">' + esc(j.path) + '</div>' + (j.summary ? '<pre>' + esc(j.summary) + '</pre>' : '');
    } catch (e) { el.textContent = 'cannot load: ' + e.message; }
  }
  loadReport();
  setInterval(loadReport, 15000);
  $('load-refresh').addEventListener('click', loadReport);
})();
</script>
</body></html>
""";
}
