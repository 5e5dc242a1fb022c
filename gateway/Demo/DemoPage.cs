namespace Relay.Gateway.Demo;

/// <summary>
/// The demo chat page. Query: role=visitor|operator|both (default both: two panes), sub or visitor (default
/// visitor-XXXX), operator (default operator-1), room (default the visitor's sub: a visitor may join only its own
/// support room), site (default "demo"), urls (comma-separated websocket URLs for failover), negotiate (a negotiate URL:
/// the SDK's negotiate mode, issue 17). Neither: this gateway's own /v1/negotiate when it answers, else its /ws. Each
/// pane shows the region it is on, why (the negotiate answer's reason) and the race winner.
/// The visitor's token comes from POST /demo/token; the operator's is asked for once (the demo mints visitor tokens
/// only; ./build.sh run prints one) and kept in sessionStorage. Its styles and the SDK script (<c>assets/…</c>) and each
/// pane's room history (<c>api/rooms/{room}/history</c>) come from the core through this relay (edge HTTP, issue 18);
/// with edge HTTP off the page falls back to the relay's own copy of the SDK.
/// </summary>
internal static class DemoPage
{
    public const string Html = """
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Relay demo chat</title>
<style>
  :root { --bg:#0f172a; --card:#111827; --line:#1f2937; --fg:#e5e7eb; --dim:#9ca3af; --ok:#22c55e; --warn:#f59e0b; --bad:#ef4444; --me:#1d4ed8; --them:#374151; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--fg); }
  header { padding:12px 20px; border-bottom:1px solid var(--line); display:flex; gap:16px; align-items:baseline; }
  header h1 { font-size:18px; margin:0; } header span { color:var(--dim); }
  main { display:flex; gap:20px; padding:20px; flex-wrap:wrap; }
  .pane { flex:1 1 380px; max-width:560px; background:var(--card); border:1px solid var(--line); border-radius:10px; display:flex; flex-direction:column; height:520px; }
  .bar { padding:10px 14px; border-bottom:1px solid var(--line); display:grid; grid-template-columns:auto 1fr; gap:2px 12px; font-size:13px; }
  .bar b { color:var(--dim); font-weight:normal; }
  .title { font-size:15px; font-weight:600; grid-column:1/3; margin-bottom:4px; }
  .state { font-weight:600; }
  .state[data-state=open] { color:var(--ok); } .state[data-state=reconnecting], .state[data-state=connecting] { color:var(--warn); } .state[data-state=closed] { color:var(--bad); }
  ol.messages { list-style:none; margin:0; padding:12px; overflow-y:auto; flex:1; display:flex; flex-direction:column; gap:6px; }
  ol.messages li { max-width:80%; padding:6px 10px; border-radius:12px; background:var(--them); align-self:flex-start; }
  ol.messages li.mine { background:var(--me); align-self:flex-end; }
  ol.messages li .from { display:block; font-size:11px; color:#cbd5e1; }
  ol.messages li.mine.pending { opacity:.6; }
  ol.messages li.failed { background:var(--bad); }
  ol.messages li.system { align-self:center; background:none; color:var(--dim); font-size:12px; }
  form { display:flex; gap:8px; padding:10px; border-top:1px solid var(--line); }
  form input { flex:1; padding:8px 10px; border-radius:8px; border:1px solid var(--line); background:#0b1220; color:var(--fg); }
  form button { padding:8px 14px; border-radius:8px; border:0; background:var(--me); color:white; cursor:pointer; }
</style>
<!-- Issue 18: the widget's styles and script come from the core through this relay (edge HTTP, /assets/). -->
<link rel="stylesheet" href="assets/widget.css"></head>
<body>
<header><h1>Relay demo chat</h1><span id="room-label"></span><span id="steering"></span><span>development only (Gateway:DemoWidget)</span></header>
<main id="panes"></main>
<template id="pane-template">
  <section class="pane">
    <div class="bar">
      <div class="title"></div>
      <b>state</b><span class="state" data-state="idle">idle</span>
      <b>relay</b><span class="relay">—</span>
      <b>region</b><span class="region">—</span>
      <b>why</b><span class="why">—</span>
      <b>race</b><span class="race">—</span>
      <b>round trip</b><span class="rtt">—</span>
      <b>session</b><span class="session">—</span>
    </div>
    <ol class="messages"></ol>
    <form><input name="text" autocomplete="off" placeholder="Type a message"><button type="submit">Send</button></form>
  </section>
</template>
<script src="assets/relay-client.global.js"></script>
<script>if (!window.RelayClient) document.write('<script src="relay-client.global.js"><\/script>'); // edge HTTP off: the relay's own copy</script>
<script>
(function () {
  'use strict';
  const q = new URLSearchParams(location.search);
  const visitorSub = q.get('sub') || q.get('visitor') || 'visitor-' + Math.random().toString(36).slice(2, 7);
  // A visitor may join only its own support room, named by its sub (core-sim/README.md): the room defaults to it.
  const room = q.get('room') || visitorSub;
  const site = q.get('site') || 'demo';
  const role = q.get('role') || 'both';
  const wsBase = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
  // ?urls= and ?negotiate= may name only this page's host (any port): the page hands its tokens to where they point,
  // and a link naming another host would send them there (a security review found it).
  const sameHost = u => { try { return new URL(u, location.href).hostname === location.hostname; } catch (e) { return false; } };
  const askedUrls = (q.get('urls') || '').split(',').map(s => s.trim()).filter(Boolean);
  const foreign = askedUrls.filter(u => !sameHost(u)).concat(q.get('negotiate') && !sameHost(q.get('negotiate')) ? [q.get('negotiate')] : []);
  const fixedUrls = askedUrls.filter(sameHost);
  const urls = fixedUrls.length ? fixedUrls : [wsBase];
  const negotiateParam = q.get('negotiate') && sameHost(q.get('negotiate')) ? q.get('negotiate') : null;
  document.getElementById('room-label').textContent = 'room ' + room + ' · site ' + site;

  // Where the panes connect (issue 17): ?negotiate=URL, else ?urls= (fixed), else this gateway's own /v1/negotiate when
  // it answers with relays, else this gateway's /ws (a gateway without negotiate answers 404).
  async function steering() {
    const s = await chooseSteering();
    if (foreign.length) s.why += ' (ignored, another host: ' + foreign.join(', ') + ')';
    return s;
  }

  async function chooseSteering() {
    if (negotiateParam) return { negotiateUrl: new URL(negotiateParam, location.href).toString(), urls: [wsBase], why: 'negotiate (?negotiate=)' };
    if (fixedUrls.length) return { urls, why: 'the fixed URL list (?urls=)' };
    const own = new URL('v1/negotiate', location.href).toString();
    try {
      const r = await fetch(own, { cache: 'no-store' });
      if (r.ok) {
        const d = await r.json();
        if (d && Array.isArray(d.relays) && d.relays.length) return { negotiateUrl: own, urls: [wsBase], why: 'this gateway\'s negotiate' };
      }
      return { urls, why: 'this gateway (its /v1/negotiate answered ' + r.status + ')', fixed: true };
    } catch (e) {
      return { urls, why: 'this gateway (its /v1/negotiate failed: ' + e.message + ')', fixed: true };
    }
  }

  function statusUrl(wsUrl) {
    const u = new URL(wsUrl);
    u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
    u.pathname = u.pathname.replace(/\/ws$/, '') + '/status';
    u.search = '';
    return u.toString();
  }

  // The demo mints visitor tokens only: the operator pane asks for an operator token once (kept for this tab).
  async function operatorToken() {
    let t = sessionStorage.getItem('relay-demo-operator-token');
    if (!t) {
      t = (prompt('Operator token for site ' + site + ' (core-sim: POST /v1/tokens {"sub","site","role":"operator"} with Authorization: Bearer <core-sim admin key>; ./build.sh run prints one)') || '').trim();
      if (!t) throw new Error('no operator token');
      sessionStorage.setItem('relay-demo-operator-token', t);
    }
    return t;
  }

  const textOf = body => body && typeof body === 'object' && 'text' in body ? body.text : JSON.stringify(body);

  function pane(paneRole, steer) {
    const sub = paneRole === 'visitor' ? visitorSub : q.get('operator') || 'operator-1';
    const el = document.getElementById('pane-template').content.firstElementChild.cloneNode(true);
    el.dataset.role = paneRole;
    el.querySelector('.title').textContent = (paneRole === 'visitor' ? 'Visitor' : 'Operator') + ' · ' + sub;
    document.getElementById('panes').appendChild(el);
    const list = el.querySelector('.messages');
    const stateEl = el.querySelector('.state');

    function add(cls, from, text) {
      const li = document.createElement('li');
      li.className = cls;
      const f = document.createElement('span'); f.className = 'from'; f.textContent = from;
      const t = document.createElement('span'); t.className = 'text'; t.textContent = text;
      li.append(f, t);
      list.appendChild(li);
      list.scrollTop = list.scrollHeight;
      return li;
    }

    let lastToken = null;
    const client = new RelayClient({
      ...(steer.negotiateUrl ? { negotiateUrl: steer.negotiateUrl, urls: steer.urls } : { urls: steer.urls }), rooms: [room],
      token: paneRole === 'operator' ? async () => (lastToken = await operatorToken()) : async () => {
        const r = await fetch('demo/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sub, role: 'visitor', site }) });
        if (!r.ok) throw new Error('token: HTTP ' + r.status);
        return (lastToken = (await r.json()).token);
      },
    });
    // Issue 18: the room's last messages, through this relay (edge HTTP: GET /api/rooms/{room}/history), once.
    // The history is asked for when the session opens, and the chat goes on meanwhile: what was said or received before
    // it came back (sender and text, in liveLines) is in it too when the core took the page later, and is not shown twice.
    let historyShown = false;
    let liveLines = [];
    function showHistory() {
      if (historyShown || !lastToken) return;
      historyShown = true;
      fetch('api/rooms/' + encodeURIComponent(room) + '/history?limit=20', { headers: { authorization: 'Bearer ' + lastToken } })
        .then(r => r.ok ? r.json() : Promise.reject(new Error('history: HTTP ' + r.status)))
        .then(page => {
          const live = liveLines;
          liveLines = null;
          // The page's newest entries that were shown live (one entry per live line) are left out, from the newest back
          // to the first that was not. By sender and text (a live message carries no room message id): a line said
          // again meanwhile and not yet in the page hides its older twin.
          let end = page.messages.length;
          while (end > 0) {
            const m = page.messages[end - 1];
            const i = live.findIndex(l => l.from === m.from && l.text === textOf(m.body));
            if (i < 0) break;
            live.splice(i, 1);
            end--;
          }
          const first = list.firstChild;
          for (const m of page.messages.slice(0, end)) {
            list.insertBefore(add('theirs history', m.from, textOf(m.body)), first);
          }
          el.dataset.history = String(end);
        })
        .catch(e => { liveLines = null; el.dataset.history = 'failed'; add('system', '', String(e.message || e)); });
    }
    function shownLive(from, text) {
      if (liveLines && liveLines.push({ from, text }) > 20) liveLines.shift(); // the page has the 20 newest
    }
    let relayAsk = 0;
    // Negotiate mode: the SDK says which relay, which region, why, and who won the race (the 'relay' event, each welcome).
    function showRelay(r) {
      const relayEl = el.querySelector('.relay');
      relayEl.textContent = r.relayId + (r.region ? ' (' + r.region + ')' : '');
      relayEl.dataset.relayId = r.relayId;
      el.dataset.relay = r.relayId;
      el.dataset.region = r.region || '';
      el.querySelector('.region').textContent = r.region || '—';
      el.querySelector('.why').textContent = r.reason || '—';
      const race = el.querySelector('.race');
      race.textContent = r.race ? r.race.winner.relayId + ' won over ' + r.race.losers.map(l => l.relayId).join(', ')
        : 'none: ' + r.relayId + ' answered first';
      if (r.failed && r.failed.length) race.textContent += ' (failed: ' + r.failed.map(f => f.relayId).join(', ') + ')';
      race.dataset.winner = r.race ? r.race.winner.relayId : r.relayId;
    }
    client.on('state', s => {
      stateEl.textContent = s.state + (s.state === 'reconnecting' && s.code ? ' (' + s.code + ')' : '');
      stateEl.dataset.state = s.state;
      el.dataset.state = s.state;
      if (s.state === 'open') {
        showHistory();
        el.querySelector('.session').textContent = (client.session || '').slice(0, 12) + (s.resumed ? ' (resumed)' : '');
        if (client.relay) {
          showRelay(client.relay);
          return;
        }

        el.querySelector('.why').textContent = steer.why;
        el.querySelector('.race').textContent = 'none (fixed URLs)';
        const ask = ++relayAsk;
        fetch(statusUrl(client.url)).then(r => r.json()).then(body => {
          if (ask !== relayAsk) return;
          const st = body.health || body; // /status: {health: {relayId, region, state, …}, links} (or flat)
          const relayEl = el.querySelector('.relay');
          relayEl.textContent = st.relayId + ' (' + st.region + ')';
          relayEl.dataset.relayId = st.relayId;
          el.dataset.relay = st.relayId;
          el.dataset.region = st.region || '';
          el.querySelector('.region').textContent = st.region || '—';
        }).catch(() => { el.querySelector('.relay').textContent = new URL(client.url).host; });
      } else if (s.state !== 'open') {
        el.querySelector('.relay').textContent = '—';
        el.dataset.relay = '';
      }
    });
    // Under Attack mode (issue 16): the relay asks new sessions for proof of work; the SDK solves it before connecting.
    client.on('challenge', c => {
      if (c.state === 'solving') {
        stateEl.textContent = 'solving challenge… (' + c.difficulty + ' bits)';
        stateEl.dataset.state = 'connecting';
      } else {
        add('system', '', 'the relay is under attack: solved its challenge (' + c.difficulty + ' bits) in ' + c.ms + ' ms');
      }
    });
    client.on('rtt', r => { el.querySelector('.rtt').textContent = r.ms.toFixed(1) + ' ms'; });
    client.on('message', m => {
      const body = textOf(m.body);
      add('theirs', m.from || 'core', body);
      shownLive(m.from, body);
    });
    client.on('error', e => { if (e.code !== 'session_taken_over') add('system', '', e.code + ': ' + e.message); });
    client.on('reset', () => add('system', '', 'the session restarted: earlier messages may be missing'));
    client.connect().catch(e => add('system', '', String(e.message || e)));

    el.querySelector('form').addEventListener('submit', ev => {
      ev.preventDefault();
      const input = ev.target.elements.text;
      const text = input.value.trim();
      if (!text) return;
      input.value = '';
      const li = add('mine pending', 'me', text);
      shownLive(sub, text);
      try {
        client.send({ text }, { room }).delivered.then(() => li.classList.remove('pending'), err => { li.classList.add('failed'); li.title = err.message; });
      } catch (err) {
        li.classList.add('failed'); li.title = err.message;
      }
    });
    return client;
  }

  window.relayDemo = {};
  steering().then(steer => {
    document.getElementById('steering').textContent = steer.negotiateUrl ? 'steered by ' + steer.negotiateUrl : 'fixed: ' + steer.urls.join(', ');
    window.relayDemo.steering = steer;
    if (role === 'visitor' || role === 'both') window.relayDemo.visitor = pane('visitor', steer);
    if (role === 'operator' || role === 'both') window.relayDemo.operator = pane('operator', steer);
  });
})();
</script>
</body></html>
""";
}
