/*
 * dnsdist-ts dashboard: polls /dashboard.json once a second (same origin,
 * so the browser's basic-auth credentials go along), turns running totals
 * into per-second rates, and redraws without reloading. No framework and
 * nothing fetched from elsewhere, as the Content-Security-Policy demands.
 */
/* global document, getComputedStyle, fetch, performance, setTimeout, location */
'use strict';

(function () {
  const POLL_MS = 1000;
  const HISTORY = 120;
  const history = [];
  let previous;

  const $ = (id) => document.getElementById(id);

  function fmtRate(n) {
    if (n === undefined || !isFinite(n)) return '–';
    if (n >= 1e6) return (n / 1e6).toFixed(2) + 'M';
    if (n >= 1e4) return (n / 1e3).toFixed(1) + 'k';
    return n >= 100 ? n.toFixed(0) : n.toFixed(1);
  }

  function fmtCount(n) {
    if (n >= 1e9) return (n / 1e9).toFixed(2) + 'G';
    if (n >= 1e6) return (n / 1e6).toFixed(2) + 'M';
    if (n >= 1e4) return (n / 1e3).toFixed(1) + 'k';
    return String(n);
  }

  function fmtSeconds(s) {
    if (s < 120) return s + ' s';
    if (s < 7200) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  }

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function rates(cur, prev) {
    const dt = (cur.at - prev.at) / 1000;
    if (dt <= 0) return undefined;
    const t = cur.data.totals;
    const p = prev.data.totals;
    const ka = cur.data.kernel.actions;
    const kp = prev.data.kernel.actions;
    const d = (a, b) => Math.max(0, (a || 0) - (b || 0)) / dt;
    const queries = d(t.queries, p.queries);
    const answered = d(t.answered, p.answered);
    return {
      queries: queries,
      answered: answered,
      droppedUser: Math.max(0, queries - answered),
      droppedKernel: d(ka.drop, kp.drop),
      truncatedKernel: d(ka.truncate, kp.truncate),
      dynBlocked: d(t.dynBlocked, p.dynBlocked),
      cacheHits: d(t.cacheHits, p.cacheHits),
    };
  }

  function renderTiles(data, r) {
    $('version').textContent = 'version ' + data.version;
    $('uptime').textContent = 'up ' + fmtSeconds(data.uptime);
    $('qps').textContent = r ? fmtRate(r.queries) : '–';
    $('answered').textContent = r ? fmtRate(r.answered) : '–';
    $('dropped-user').textContent = r ? fmtRate(r.droppedUser) : '–';
    $('dropped-kernel').textContent = r ? fmtRate(r.droppedKernel) : '–';
    $('truncated-kernel').textContent = r ? fmtRate(r.truncatedKernel) : '–';
    $('dynblocked').textContent = r ? fmtRate(r.dynBlocked) : '–';
    $('latency').textContent = (data.latency.avg100 / 1000).toFixed(2) + ' ms';
    const t = data.totals;
    const lookups = t.cacheHits + t.cacheMisses;
    $('cache').textContent = lookups > 0 ? ((100 * t.cacheHits) / lookups).toFixed(1) + ' %' : '–';
  }

  function renderServers(servers) {
    const body = $('servers').tBodies[0];
    body.replaceChildren();
    let up = 0;
    for (const s of servers) {
      if (s.up) up++;
      const tr = document.createElement('tr');
      tr.append(
        cell(s.name),
        cell(s.address),
        cell(s.state, s.up ? 'up' : 'down'),
        cell(s.up ? s.latencyMs.toFixed(2) + ' ms' : '–', 'num'),
        cell(fmtRate(s.qps), 'num'),
        cell(String(s.outstanding), 'num'),
      );
      body.append(tr);
    }
    $('backend-summary').textContent = servers.length ? up + ' of ' + servers.length + ' up' : 'none configured';
  }

  function renderBlocks(data) {
    const body = $('blocks').tBodies[0];
    body.replaceChildren();
    for (const b of data.blocks) {
      const tr = document.createElement('tr');
      tr.dataset.key = b.key;
      const where = document.createElement('td');
      const badge = document.createElement('span');
      badge.className = 'badge ' + (b.ebpf ? 'kernel' : 'userspace');
      badge.textContent = b.ebpf ? 'kernel + userspace' : 'userspace';
      where.append(badge);
      tr.append(
        cell(b.key),
        cell(b.reason),
        cell(b.warning ? b.action + ' (warning)' : b.action),
        where,
        cell(fmtCount(b.blocks + b.kernelHits), 'num'),
        cell(fmtSeconds(b.seconds), 'num'),
      );
      body.append(tr);
    }
    $('no-blocks').hidden = data.blocks.length > 0;
    $('block-count').textContent =
      data.blockCount > data.blocks.length ? '(' + data.blocks.length + ' of ' + data.blockCount + ')' : '(' + data.blockCount + ')';
  }

  function renderTop(id, list) {
    const ol = $(id);
    ol.replaceChildren();
    for (const e of list) {
      const li = document.createElement('li');
      const key = document.createElement('span');
      key.textContent = e.key;
      const hits = document.createElement('span');
      hits.className = 'hits';
      hits.textContent = fmtCount(e.hits);
      li.append(key, hits);
      ol.append(li);
    }
  }

  function renderChart() {
    const canvas = $('chart');
    const ctx = canvas.getContext('2d');
    const w = canvas.width;
    const h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    const style = getComputedStyle(document.documentElement);
    const series = [
      ['--qps', (r) => r.queries],
      ['--answered', (r) => r.answered],
      ['--dropped', (r) => r.droppedUser],
      ['--kernel', (r) => r.droppedKernel + r.truncatedKernel],
    ];
    let max = 1;
    for (const r of history) for (const [, f] of series) max = Math.max(max, f(r));
    ctx.strokeStyle = style.getPropertyValue('--line');
    ctx.fillStyle = style.getPropertyValue('--muted');
    ctx.font = '11px system-ui, sans-serif';
    for (let i = 0; i <= 4; i++) {
      const y = h - 10 - ((h - 30) * i) / 4;
      ctx.beginPath();
      ctx.moveTo(40, y);
      ctx.lineTo(w, y);
      ctx.stroke();
      ctx.fillText(fmtRate((max * i) / 4), 2, y + 4);
    }
    const step = (w - 40) / (HISTORY - 1);
    for (const [color, f] of series) {
      ctx.strokeStyle = style.getPropertyValue(color);
      ctx.lineWidth = 2;
      ctx.beginPath();
      history.forEach((r, i) => {
        const x = 40 + (HISTORY - history.length + i) * step;
        const y = h - 10 - ((h - 30) * f(r)) / max;
        if (i === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      });
      ctx.stroke();
    }
  }

  function render(sample) {
    const r = previous ? rates(sample, previous) : undefined;
    previous = sample;
    if (r) {
      history.push(r);
      if (history.length > HISTORY) history.shift();
    }
    const data = sample.data;
    renderTiles(data, r);
    renderServers(data.servers);
    renderBlocks(data);
    renderTop('top-clients', data.topBlockedClients);
    renderTop('top-names', data.topBlockedNames);
    renderChart();
    const status = $('status');
    status.className = 'status';
    status.textContent = 'updated ' + new Date().toLocaleTimeString();
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  }

  async function poll() {
    try {
      // From the origin, never from the page's own URL: opened as http://user:password@host/, that
      // URL carries credentials and browsers refuse to build a request from it.
      const res = await fetch(new URL('/dashboard.json', location.origin), { credentials: 'same-origin', cache: 'no-store' });
      if (!res.ok) throw new Error('HTTP ' + res.status);
      render({ at: performance.now(), data: await res.json() });
    } catch (err) {
      const status = $('status');
      status.className = 'status stale';
      status.textContent = 'not updating: ' + err.message;
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }

  poll();
})();
