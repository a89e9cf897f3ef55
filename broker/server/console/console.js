// The Sluice console's page script: a small client of the JSON API in docs/console.md.
//
// Organisation, top to bottom:
//   1. State and DOM helpers (`el`, `show`, formatting of numbers, ages, times and bytes).
//   2. The API client (`api`): same-origin credentials, the CSRF header on every request that
//      changes something, `{error: {code, message}}` turned into an ApiError, and a 401
//      SignInRequired anywhere sending the user back to the sign-in form.
//   3. Session: loading it, the sign-in form, the header, signing out.
//   4. Routing on the hash (`#/`, `#/queues/<name>`); each view has an enter and a leave so
//      timers stop with the view.
//   5. Overview: polling every 3 s, rates from successive counters, SVG sparklines, and tables
//      updated row by row so that focus and text selection survive a refresh.
//   6. Queue page: attributes, move tasks (refreshed while one runs), peeked messages with
//      expandable details, and the actions (send, delete, purge, redrive, cancel).
//   7. Start-up.
//
// Every string from the broker reaches the DOM through textContent or an attribute, never
// through innerHTML (the page is also served with a CSP of 'self' only: no inline anything).
'use strict';

(function () {

  // ---------------------------------------------------------------------------------------
  // 1. State and helpers
  // ---------------------------------------------------------------------------------------

  const OVERVIEW_POLL_MS = 3000;
  const TASK_POLL_MS = 2000;
  const SPARK_SAMPLES = 40;
  const MESSAGE_PAGE = 100;
  const MAX_PEEK = 1000;      // the most one peek returns (docs/console.md)
  const PREVIEW_CHARS = 80;

  const state = {
    session: null,        // GET /console/api/session's answer
    view: null,           // 'overview' | 'queue' | 'not-found' | null while signed out
    overview: {
      timer: null,
      generation: 0,      // bumps on leave, so an answer arriving late is dropped
      last: null,         // the latest overview answer (for the filter)
      history: new Map(), // 'queue:<name>' | 'stream:<name>' -> {counters, atMs, series}
    },
    queue: {
      name: null,
      generation: 0,
      info: null,         // GET /console/api/queues/{name}
      messages: [],
      next: null,
      expandedId: null,   // message id whose details are open
      hexView: false,     // the details show the body as hex
      taskTimer: null,
    },
  };

  const $ = (id) => document.getElementById(id);

  // Creates an element. `attrs` keys: `class`, `text`, `dataset` (object), `on<event>`
  // (listener), anything else an attribute; `children` are nodes or strings (as text).
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key === 'dataset') Object.assign(node.dataset, value);
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children || []) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  function fmtInt(n) {
    if (n === null || n === undefined || !Number.isFinite(Number(n))) return '—';
    return Number(n).toLocaleString('en-US');
  }

  // "3 s", "5 min", "2 h", "4 d": an age should read at a glance, not to the second.
  function fmtAge(seconds) {
    if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return '—';
    const s = Math.max(0, Math.floor(Number(seconds)));
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min';
    if (s < 86400) return Math.floor(s / 3600) + ' h';
    return Math.floor(s / 86400) + ' d';
  }

  function fmtRate(perSecond) {
    if (perSecond === null || perSecond === undefined) return '—';
    if (perSecond === 0) return '0';
    if (perSecond < 10) return perSecond.toFixed(1);
    return Math.round(perSecond).toLocaleString('en-US');
  }

  function fmtBytes(n) {
    if (n === null || n === undefined || !Number.isFinite(Number(n))) return '—';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let value = Number(n);
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return (unit === 0 ? String(value) : value.toFixed(1)) + ' ' + units[unit];
  }

  // A <time> for an epoch-milliseconds value (a number or, as SQS reports them, a string).
  function timeNode(ms) {
    const n = Number(ms);
    if (!ms || !Number.isFinite(n) || n <= 0) return document.createTextNode('—');
    const date = new Date(n);
    const pad = (v) => String(v).padStart(2, '0');
    const text = date.getFullYear() + '-' + pad(date.getMonth() + 1) + '-' + pad(date.getDate()) +
      ' ' + pad(date.getHours()) + ':' + pad(date.getMinutes()) + ':' + pad(date.getSeconds());
    return el('time', { datetime: date.toISOString(), title: date.toISOString(), text });
  }

  // The queue name at the end of an SQS ARN (arn:aws:sqs:region:account:name).
  function nameFromArn(arn) {
    if (typeof arn !== 'string') return '';
    return arn.slice(arn.lastIndexOf(':') + 1);
  }

  function queueHref(name) {
    return '#/queues/' + encodeURIComponent(name);
  }

  function queueLink(name, focusKey) {
    return el('a', { href: queueHref(name), text: name, dataset: focusKey ? { focusKey } : undefined });
  }

  // The status line under the header: the outcome of the last action, read out politely.
  function setStatus(text, kind) {
    const status = $('status');
    status.textContent = text;
    status.className = 'status' + (kind ? ' status-' + kind : '');
  }

  function reportError(prefix, err) {
    if (err && err.handled) return; // already dealt with (sign-in required)
    setStatus(prefix + ': ' + (err && err.message ? err.message : String(err)), 'error');
  }

  // Runs `render` (which rebuilds part of `container`), then gives focus back to the element
  // with the same data-focus-key, so a refresh does not throw a keyboard user to the top.
  function keepFocus(container, render) {
    const active = document.activeElement;
    const key = active && container.contains(active) && active.dataset ? active.dataset.focusKey : null;
    render();
    if (!key) return;
    for (const candidate of container.querySelectorAll('[data-focus-key]')) {
      if (candidate.dataset.focusKey === key) {
        candidate.focus();
        return;
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // 2. API client
  // ---------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
      this.handled = false;
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    const init = { method, credentials: 'same-origin', headers };
    if (method !== 'GET') headers['X-Sluice-Csrf'] = (state.session && state.session.csrf) || '';
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, 'NetworkError', 'the broker did not answer (' + e.message + ')');
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (e) {
        if (response.ok) throw new ApiError(response.status, 'BadResponse', 'the answer is not JSON');
      }
    }
    if (response.ok) return data;
    const error = (data && data.error) || {};
    const err = new ApiError(response.status, error.code || 'HTTP' + response.status,
      error.message || error.code || response.statusText || 'HTTP ' + response.status);
    // Only the session endpoint answers InvalidCredentials; everything else that wants a
    // session says SignInRequired, and then the whole page goes back to signing in.
    if (response.status === 401 && err.code === 'SignInRequired') {
      err.handled = true;
      sessionEnded();
    }
    throw err;
  }

  const queuePath = (name) => '/console/api/queues/' + encodeURIComponent(name);

  // ---------------------------------------------------------------------------------------
  // 3. Session
  // ---------------------------------------------------------------------------------------

  async function loadSession() {
    state.session = await api('GET', '/console/api/session');
    return state.session;
  }

  function renderSessionHeader() {
    const s = state.session;
    const signedIn = Boolean(s && s.signedIn);
    show($('session-info'), signedIn);
    show($('main-nav'), signedIn);
    if (!signedIn) return;
    $('session-account').textContent = s.account || '—';
    $('session-region').textContent = s.region || '—';
    $('session-key').textContent = s.accessKeyId || '';
    show($('session-key-item'), Boolean(s.accessKeyId));
  }

  function showSignIn(message) {
    leaveView();
    renderSessionHeader();
    for (const id of ['overview', 'queue-page', 'not-found']) show($(id), false);
    show($('signin'), true);
    document.title = 'Sign in · Sluice console';
    const region = $('signin-region');
    if (!region.value && state.session && state.session.region) region.value = state.session.region;
    const error = $('signin-error');
    error.textContent = message || '';
    show(error, Boolean(message));
    $('signin-key').focus();
  }

  // A request was refused for want of a session (it expired, or the broker restarted).
  let endingSession = null;
  function sessionEnded() {
    if (endingSession) return;
    leaveView();
    endingSession = loadSession()
      .then((s) => {
        // With auth off, GET session has already started a new session: carry on.
        if (s.signedIn) route();
        else showSignIn('Your session has ended. Sign in again.');
      })
      .catch((e) => setStatus('Could not reach the broker: ' + e.message, 'error'))
      .finally(() => { endingSession = null; });
  }

  async function onSignIn(event) {
    event.preventDefault();
    const key = $('signin-key').value.trim();
    const secret = $('signin-secret').value;
    const region = $('signin-region').value.trim();
    const error = $('signin-error');
    if (!key || !secret) {
      error.textContent = 'Enter an access key ID and its secret access key.';
      show(error, true);
      (key ? $('signin-secret') : $('signin-key')).focus();
      return;
    }
    const submit = $('signin-submit');
    submit.disabled = true;
    try {
      const body = { accessKeyId: key, secretAccessKey: secret };
      if (region) body.region = region;
      const answer = await api('POST', '/console/api/session', body);
      // The contract does not promise what sign-in answers; the session endpoint is the truth.
      if (answer && answer.signedIn && answer.csrf) state.session = answer;
      else await loadSession();
      $('signin-secret').value = '';
      forgetOverview(); // another key or region may see other resources
      show(error, false);
      show($('signin'), false);
      renderSessionHeader();
      setStatus('Signed in as ' + (state.session.accessKeyId || key) + '.', 'ok');
      route(true);
    } catch (e) {
      error.textContent = e.code === 'InvalidCredentials'
        ? (e.message || 'Unknown access key or wrong secret.')
        : 'Could not sign in: ' + e.message;
      show(error, true);
      $('signin-secret').focus();
    } finally {
      submit.disabled = false;
    }
  }

  async function onSignOut() {
    const auth = state.session && state.session.auth;
    try {
      await api('DELETE', '/console/api/session');
    } catch (e) {
      if (!e.handled) reportError('Could not sign out', e);
      return;
    }
    if (auth === 'off') {
      // With auth off the next load opens a fresh session: start from a clean page.
      window.location.reload();
      return;
    }
    state.session = Object.assign({}, state.session, { signedIn: false, csrf: null, accessKeyId: null });
    forgetOverview();
    setStatus('Signed out.', 'ok');
    showSignIn();
  }

  // ---------------------------------------------------------------------------------------
  // 4. Routing
  // ---------------------------------------------------------------------------------------

  function parseHash() {
    const hash = window.location.hash.replace(/^#/, '');
    if (hash === '' || hash === '/') return { view: 'overview' };
    const match = /^\/queues\/([^/]+)\/?$/.exec(hash);
    if (match) {
      try {
        return { view: 'queue', name: decodeURIComponent(match[1]) };
      } catch (e) {
        return { view: 'not-found' };
      }
    }
    return { view: 'not-found' };
  }

  function leaveView() {
    stopOverviewPolling();
    state.overview.generation += 1;
    stopTaskPolling();
    state.queue.generation += 1;
    state.view = null;
  }

  // Shows the view the hash names. `moveFocus` puts focus on its heading, which tells screen
  // reader users that the page changed (a hash change alone says nothing).
  function route(moveFocus) {
    if (!state.session || !state.session.signedIn) {
      showSignIn();
      return;
    }
    leaveView();
    const target = parseHash();
    show($('signin'), false);
    show($('overview'), target.view === 'overview');
    show($('queue-page'), target.view === 'queue');
    show($('not-found'), target.view === 'not-found');
    if (target.view === 'overview') $('nav-overview').setAttribute('aria-current', 'page');
    else $('nav-overview').removeAttribute('aria-current');
    state.view = target.view;
    let heading;
    if (target.view === 'overview') {
      document.title = 'Overview · Sluice console';
      enterOverview();
      heading = $('overview-title');
    } else if (target.view === 'queue') {
      document.title = target.name + ' · Sluice console';
      enterQueue(target.name);
      heading = $('queue-name');
    } else {
      document.title = 'Not found · Sluice console';
      heading = $('not-found-title');
    }
    if (moveFocus) heading.focus();
  }

  // ---------------------------------------------------------------------------------------
  // 5. Overview
  // ---------------------------------------------------------------------------------------

  function forgetOverview() {
    state.overview.last = null;
    state.overview.history.clear();
  }

  function enterOverview() {
    const generation = state.overview.generation;
    if (state.overview.last) renderOverview(state.overview.last);
    pollOverview(generation);
  }

  // User Timing marks for benchmarks (docs/benchmarks.md): `<view>-rendered` once the page's
  // DOM is built, `<view>-painted` after the next frame, when the browser has laid it out and
  // painted it. Only the latest of each is kept, so the 3-second refreshes add nothing.
  function markRendered(view) {
    performance.clearMarks(view + '-rendered');
    performance.mark(view + '-rendered');
    requestAnimationFrame(() => setTimeout(() => {
      performance.clearMarks(view + '-painted');
      performance.mark(view + '-painted');
    }, 0));
  }

  function stopOverviewPolling() {
    clearTimeout(state.overview.timer);
    state.overview.timer = null;
  }

  // One poll, then the next one 3 s after this one answered: a slow broker is never asked
  // twice at once. A hidden tab stops asking (visibilitychange restarts it).
  async function pollOverview(generation) {
    stopOverviewPolling();
    if (document.hidden) return;
    try {
      const data = await api('GET', '/console/api/overview');
      if (generation !== state.overview.generation) return;
      recordSamples(data);
      state.overview.last = data;
      renderOverview(data);
      markRendered('overview');
      show($('overview-error'), false);
    } catch (e) {
      if (generation !== state.overview.generation || e.handled) return;
      $('overview-error').textContent = 'Could not load the overview: ' + e.message;
      show($('overview-error'), true);
    }
    if (generation !== state.overview.generation || document.hidden) return;
    // Cleared first: a poll started when the tab came back may overlap this one, and only
    // one timer may stay pending.
    stopOverviewPolling();
    state.overview.timer = setTimeout(() => pollOverview(generation), OVERVIEW_POLL_MS);
  }

  // Turns counters into per-second rates: (counter now - counter before) / seconds between the
  // broker's two answers. The counters start at zero with the broker, so a drop means it
  // restarted and that interval's rate is unknown, shown as 0 rather than negative.
  function sample(key, atMs, counters) {
    const history = state.overview.history;
    let entry = history.get(key);
    if (!entry) {
      entry = { counters: null, atMs: 0, series: {} };
      history.set(key, entry);
    }
    const seconds = (atMs - entry.atMs) / 1000;
    if (entry.counters && seconds > 0) {
      for (const [name, value] of Object.entries(counters)) {
        const rate = Math.max(0, (Number(value) - Number(entry.counters[name])) / seconds);
        const series = entry.series[name] || (entry.series[name] = []);
        series.push(Number.isFinite(rate) ? rate : 0);
        if (series.length > SPARK_SAMPLES) series.shift();
      }
    }
    if (seconds > 0 || !entry.counters) {
      entry.counters = counters;
      entry.atMs = atMs;
    }
    return entry;
  }

  function recordSamples(data) {
    const atMs = Number(data.generatedAtMs) || Date.now();
    const seen = new Set();
    for (const q of data.queues || []) {
      seen.add('queue:' + q.name);
      sample('queue:' + q.name, atMs, { sent: q.sent, received: q.received });
    }
    for (const s of data.streams || []) {
      seen.add('stream:' + s.name);
      sample('stream:' + s.name, atMs, { recordsIn: s.recordsIn });
    }
    // Forget deleted queues and streams, so a new one of the same name starts afresh.
    for (const key of state.overview.history.keys()) {
      if (!seen.has(key)) state.overview.history.delete(key);
    }
  }

  function seriesOf(key, name) {
    const entry = state.overview.history.get(key);
    return (entry && entry.series[name]) || [];
  }

  const SVG_NS = 'http://www.w3.org/2000/svg';

  // A small line chart of `values` (oldest first), scaled to its own maximum, with the label
  // read out instead of the drawing.
  function sparkline(values, label) {
    // Most queues of a big account are idle: their flat line is a styled span, not an SVG, so
    // an overview of a thousand queues lays out and paints in well under a second.
    if (isFlat(values)) {
      return el('span', { class: 'sparkline spark-flat', role: 'img', 'aria-label': label, title: label });
    }
    const width = 80;
    const height = 22;
    const svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('class', 'sparkline');
    svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
    svg.setAttribute('width', String(width));
    svg.setAttribute('height', String(height));
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
    const title = document.createElementNS(SVG_NS, 'title');
    title.textContent = label;
    svg.append(title);
    const base = document.createElementNS(SVG_NS, 'line');
    base.setAttribute('class', 'spark-base');
    base.setAttribute('x1', '0');
    base.setAttribute('x2', String(width));
    base.setAttribute('y1', String(height - 1));
    base.setAttribute('y2', String(height - 1));
    svg.append(base);
    if (values.length === 0) return svg;
    const max = Math.max(...values, 0.0001);
    const step = width / (SPARK_SAMPLES - 1);
    // Right-aligned: the newest sample is always at the right edge.
    const offset = (SPARK_SAMPLES - values.length) * step;
    const points = values.map((v, i) => {
      const x = offset + i * step;
      const y = height - 2 - (v / max) * (height - 4);
      return x.toFixed(1) + ',' + y.toFixed(1);
    });
    const line = document.createElementNS(SVG_NS, 'polyline');
    line.setAttribute('class', 'spark-line');
    line.setAttribute('points', points.join(' '));
    svg.append(line);
    return svg;
  }

  const isFlat = (values) => values.every((v) => v === 0);

  function rateCell(key, name, what) {
    const values = seriesOf(key, name);
    const now = values.length ? values[values.length - 1] : null;
    const minutes = Math.round((SPARK_SAMPLES * OVERVIEW_POLL_MS) / 60000);
    const label = what + ' over the last ' + minutes + ' minutes' +
      (now === null ? ', no sample yet' : ', now ' + fmtRate(now) + ' per second');
    return {
      // A flat line stays the same cell while it stays flat (its samples still shift along).
      key: isFlat(values) ? 'flat|' + (now === null ? 'none' : '0') : values.join(','),
      build: () => el('span', { class: 'rate' }, [
        sparkline(values, label),
        el('span', { class: 'rate-value', 'aria-hidden': 'true', text: fmtRate(now) }),
      ]),
    };
  }

  const textCell = (value, cls) => ({ key: String(value), cls, build: () => String(value) });

  // Brings `tbody` in line with `items`: one row per item (keyed by `attr`), cells rebuilt only
  // when their key changes. A 3-second refresh thus leaves focus, hover and a text selection
  // alone in every cell that did not change.
  function syncRows(tbody, items, attr, keyOf, cellsOf) {
    const existing = new Map();
    for (const row of tbody.querySelectorAll('tr[' + attr + ']')) existing.set(row.getAttribute(attr), row);
    items.forEach((item, index) => {
      const key = keyOf(item);
      let row = existing.get(key);
      const cells = cellsOf(item);
      if (!row) {
        row = el('tr', { [attr]: key });
        cells.forEach((cell, i) => row.append(el(i === 0 ? 'th' : 'td', { scope: i === 0 ? 'row' : null })));
      }
      existing.delete(key);
      cells.forEach((cell, i) => {
        const td = row.children[i];
        if (td.dataset.key === cell.key) return;
        td.replaceChildren(cell.build());
        td.dataset.key = cell.key;
        td.className = cell.cls || '';
      });
      if (tbody.children[index] !== row) tbody.insertBefore(row, tbody.children[index] || null);
    });
    for (const row of existing.values()) row.remove();
  }

  function renderOverview(data) {
    const region = data.region || (state.session && state.session.region) || '';
    $('overview-scope').textContent = 'Account ' + (data.account || '—') + ' in ' + region + '.';
    const at = new Date(Number(data.generatedAtMs) || Date.now());
    $('overview-updated').textContent = 'Updated ' + at.toLocaleTimeString('en-GB') + '.';
    renderQueues(data.queues || [], region);
    renderTopics(data.topics || [], region);
    renderStreams(data.streams || [], region);
  }

  function renderQueues(queues, region) {
    const filter = $('queue-filter').value.trim().toLowerCase();
    const shown = filter ? queues.filter((q) => q.name.toLowerCase().includes(filter)) : queues;
    const empty = $('queues-empty');
    if (queues.length === 0) empty.textContent = 'No queues in ' + region + ' yet.';
    else if (shown.length === 0) empty.textContent = 'No queue name contains “' + filter + '”.';
    show(empty, shown.length === 0);
    show($('queues-table'), shown.length > 0);
    syncRows($('queues-table').tBodies[0], shown, 'data-queue', (q) => q.name, (q) => {
      const key = 'queue:' + q.name;
      return [
        { key: [q.name, q.fifo, q.isDeadLetterQueue].join('|'), cls: 'name', build: () => queueNameCell(q) },
        textCell(fmtInt(q.visible), 'num'),
        textCell(fmtInt(q.inFlight), 'num'),
        textCell(fmtInt(q.delayed), 'num'),
        textCell(fmtAge(q.oldestAgeSeconds), 'num'),
        rateCell(key, 'sent', 'Messages sent per second'),
        rateCell(key, 'received', 'Messages received per second'),
        { key: JSON.stringify(q.deadLetterTarget || null), build: () => deadLetterCell(q.deadLetterTarget) },
      ];
    });
  }

  function queueNameCell(q) {
    const frag = document.createDocumentFragment();
    frag.append(queueLink(q.name, 'queue:' + q.name));
    if (q.fifo) frag.append(' ', el('span', { class: 'badge', text: 'FIFO' }));
    if (q.isDeadLetterQueue) frag.append(' ', el('span', { class: 'badge badge-dlq', text: 'DLQ' }));
    return frag;
  }

  function deadLetterCell(target) {
    if (!target) return el('span', { class: 'muted', text: '—' });
    const name = target.name || nameFromArn(target.arn);
    return el('span', { class: 'dlq' }, [
      queueLink(name, 'dlq:' + name),
      ' ',
      el('span', { class: 'dlq-count' + (Number(target.visible) > 0 ? ' dlq-full' : ''),
        text: fmtInt(target.visible) + ' visible' }),
      target.maxReceiveCount ? el('span', { class: 'muted', text: ' · after ' + target.maxReceiveCount + ' receives' }) : null,
    ]);
  }

  function renderTopics(topics, region) {
    const empty = $('topics-empty');
    empty.textContent = 'No topics in ' + region + ' yet.';
    show(empty, topics.length === 0);
    show($('topics-table'), topics.length > 0);
    syncRows($('topics-table').tBodies[0], topics, 'data-topic', (t) => t.name, (t) => [
      { key: t.name + '|' + t.fifo, cls: 'name', build: () => topicNameCell(t) },
      textCell(fmtInt(t.subscriptions), 'num'),
      textCell(fmtInt(t.published), 'num'),
      textCell(fmtInt(t.delivered), 'num'),
      textCell(fmtInt(t.failed), Number(t.failed) > 0 ? 'num warn' : 'num'),
    ]);
  }

  function topicNameCell(t) {
    const frag = document.createDocumentFragment();
    frag.append(el('span', { title: t.arn || '', text: t.name }));
    if (t.fifo) frag.append(' ', el('span', { class: 'badge', text: 'FIFO' }));
    return frag;
  }

  function renderStreams(streams, region) {
    const empty = $('streams-empty');
    empty.textContent = 'No streams in ' + region + ' yet.';
    show(empty, streams.length === 0);
    show($('streams-table'), streams.length > 0);
    syncRows($('streams-table').tBodies[0], streams, 'data-stream', (s) => s.name, (s) => [
      { key: s.name, cls: 'name', build: () => el('span', { title: s.arn || '', text: s.name }) },
      { key: String(s.status), build: () => el('span', { class: 'badge status-' + String(s.status).toLowerCase(), text: s.status || '—' }) },
      textCell(fmtInt(s.openShards), 'num'),
      textCell(fmtInt(s.consumers), 'num'),
      textCell(fmtInt(s.recordsIn), 'num'),
      rateCell('stream:' + s.name, 'recordsIn', 'Records in per second'),
      textCell(fmtBytes(s.bytesIn), 'num'),
      textCell(fmtInt(s.recordsOut), 'num'),
    ]);
  }

  function onFilterInput() {
    if (state.overview.last) {
      const data = state.overview.last;
      renderQueues(data.queues || [], data.region || '');
    }
  }

  // ---------------------------------------------------------------------------------------
  // 6. Queue page
  // ---------------------------------------------------------------------------------------

  function enterQueue(name) {
    const q = state.queue;
    if (q.name !== name) {
      q.name = name;
      q.info = null;
      q.messages = [];
      q.next = null;
      q.expandedId = null;
      q.hexView = false;
      $('send-form').reset();
      show($('send-error'), false);
      show($('messages-error'), false);
      show($('queue-body'), false);
    }
    $('queue-name').textContent = name;
    $('crumb-queue').textContent = name;
    show($('queue-error'), false);
    refreshQueue();
  }

  function stopTaskPolling() {
    clearTimeout(state.queue.taskTimer);
    state.queue.taskTimer = null;
  }

  // Loads the queue's description and its messages from the start, as many as were shown
  // (so a refresh after an action does not fold "Load more" back). The two may fail apart: a
  // key may read attributes but not peek (sqs:ReceiveMessage), so each shows its own error.
  async function refreshQueue() {
    const generation = state.queue.generation;
    const name = state.queue.name;
    const limit = Math.min(MAX_PEEK, Math.max(MESSAGE_PAGE, state.queue.messages.length));
    const [info, page] = await Promise.allSettled([
      api('GET', queuePath(name)),
      api('GET', queuePath(name) + '/messages?limit=' + limit),
    ]);
    if (generation !== state.queue.generation) return;
    if (info.status === 'rejected') {
      showQueueError(name, info.reason);
      return;
    }
    state.queue.info = info.value;
    renderQueueInfo(info.value);
    show($('queue-error'), false);
    show($('queue-body'), true);
    if (page.status === 'fulfilled') {
      state.queue.messages = page.value.messages || [];
      state.queue.next = page.value.next === undefined ? null : page.value.next;
      show($('messages-error'), false);
    } else if (!page.reason.handled) {
      $('messages-error').textContent = 'Could not read the messages: ' + page.reason.message;
      show($('messages-error'), true);
    }
    renderMessages();
    scheduleTaskPoll(generation);
  }

  function showQueueError(name, err) {
    if (err.handled) return;
    const missing = err.status === 404 || /NonExistentQueue|QueueDoesNotExist/.test(err.code);
    $('queue-error').textContent = missing
      ? 'There is no queue named “' + name + '” here: ' + err.message
      : 'Could not load the queue: ' + err.message;
    show($('queue-error'), true);
    show($('queue-body'), false);
  }

  // Only the description (attributes and move tasks): what changes while a redrive runs.
  // When the last running task ends, the messages it moved are gone: reload them too.
  async function refreshQueueInfo(generation) {
    try {
      const info = await api('GET', queuePath(state.queue.name));
      if (generation !== state.queue.generation) return;
      state.queue.info = info;
      renderQueueInfo(info);
      if (!(info.moveTasks || []).some(isActive)) {
        await refreshQueue();
        return;
      }
    } catch (e) {
      if (generation !== state.queue.generation || e.handled) return;
      reportError('Could not refresh the queue', e);
    }
    scheduleTaskPoll(generation);
  }

  const taskField = (t, name) => (t[name] !== undefined ? t[name] : t[name.charAt(0).toLowerCase() + name.slice(1)]);
  const isActive = (t) => ['RUNNING', 'CANCELLING'].includes(taskField(t, 'Status'));

  function scheduleTaskPoll(generation) {
    stopTaskPolling();
    const tasks = (state.queue.info && state.queue.info.moveTasks) || [];
    if (!tasks.some(isActive) || document.hidden || generation !== state.queue.generation) return;
    state.queue.taskTimer = setTimeout(() => refreshQueueInfo(generation), TASK_POLL_MS);
  }

  function renderQueueInfo(info) {
    const fifo = Boolean(info.fifo);
    const kind = $('queue-kind');
    kind.textContent = fifo ? 'FIFO' : 'Standard';
    $('queue-arn').textContent = info.arn || '—';
    $('queue-url').textContent = info.url || '—';
    const attrs = info.attributes || {};
    const dlqArn = redriveTarget(attrs.RedrivePolicy);
    show($('queue-dlq-item'), Boolean(dlqArn));
    if (dlqArn) $('queue-dlq').replaceChildren(queueLink(nameFromArn(dlqArn)));

    const sources = info.deadLetterSources || [];
    show($('dlq-sources-panel'), sources.length > 0);
    show($('redrive'), sources.length > 0);
    // SQS runs one move task per source queue at a time (StartMessageMoveTask).
    const running = (info.moveTasks || []).some(isActive);
    $('redrive').disabled = running;
    $('redrive').title = running ? 'A move task is already running for this queue.' : '';
    $('dlq-sources').replaceChildren(...sources.map((s) => el('li', {}, [queueLink(s)])));

    renderAttributes(attrs);
    renderMoveTasks(info.moveTasks || [], sources.length > 0);
    for (const node of document.querySelectorAll('#send-form .fifo-only')) show(node, fifo);
    for (const node of document.querySelectorAll('#send-form .standard-only')) show(node, !fifo);
  }

  function redriveTarget(policy) {
    if (!policy) return null;
    try {
      return JSON.parse(policy).deadLetterTargetArn || null;
    } catch (e) {
      return null;
    }
  }

  // Attributes whose value is epoch seconds (GetQueueAttributes reports them so).
  const TIMESTAMP_ATTRIBUTES = new Set(['CreatedTimestamp', 'LastModifiedTimestamp']);
  const JSON_ATTRIBUTES = new Set(['Policy', 'RedrivePolicy', 'RedriveAllowPolicy']);

  function renderAttributes(attrs) {
    const names = Object.keys(attrs).sort();
    $('queue-attributes').replaceChildren(...names.map((name) => el('div', {}, [
      el('dt', { text: name }),
      el('dd', {}, [attributeValue(name, attrs[name])]),
    ])));
  }

  function attributeValue(name, value) {
    const text = String(value);
    if (TIMESTAMP_ATTRIBUTES.has(name) && /^\d+$/.test(text)) {
      return el('span', {}, [timeNode(Number(text) * 1000), el('span', { class: 'muted', text: ' (' + text + ')' })]);
    }
    if (JSON_ATTRIBUTES.has(name)) {
      try {
        return el('pre', { class: 'attr-json', text: JSON.stringify(JSON.parse(text), null, 2) });
      } catch (e) {
        // not JSON after all: shown as it is
      }
    }
    return el('span', { text });
  }

  function renderMoveTasks(tasks, isDlq) {
    show($('move-tasks-panel'), isDlq || tasks.length > 0);
    show($('move-tasks-empty'), tasks.length === 0);
    show($('move-tasks'), tasks.length > 0);
    const tbody = $('move-tasks').tBodies[0];
    keepFocus(tbody, () => tbody.replaceChildren(...tasks.map(moveTaskRow)));
  }

  function moveTaskRow(task) {
    const status = taskField(task, 'Status') || '—';
    const moved = Number(taskField(task, 'ApproximateNumberOfMessagesMoved')) || 0;
    const toMove = Number(taskField(task, 'ApproximateNumberOfMessagesToMove'));
    const handle = taskField(task, 'TaskHandle');
    const destination = taskField(task, 'DestinationArn');
    const progress = el('span', { class: 'progress' });
    if (Number.isFinite(toMove) && toMove > 0) {
      progress.append(el('progress', { max: toMove, value: Math.min(moved, toMove), 'aria-hidden': 'true' }));
    }
    progress.append(el('span', { class: 'task-progress',
      text: fmtInt(moved) + (Number.isFinite(toMove) ? ' of ' + fmtInt(toMove) : '') + ' moved' }));
    const cancel = status === 'RUNNING' && handle
      ? el('button', { type: 'button', class: 'task-cancel', dataset: { focusKey: 'cancel:' + handle },
        text: 'Cancel', onclick: () => cancelTask(handle) })
      : null;
    return el('tr', { dataset: handle ? { taskHandle: handle } : undefined }, [
      el('td', {}, [el('span', { class: 'task-status badge status-' + String(status).toLowerCase(), text: status })]),
      el('td', {}, [progress]),
      el('td', {}, [destination ? queueLink(nameFromArn(destination)) : el('span', { class: 'muted', text: 'source queues' })]),
      el('td', {}, [timeNode(taskField(task, 'StartedTimestamp'))]),
      el('td', { text: taskField(task, 'FailureReason') || '' }),
      el('td', {}, [cancel]),
    ]);
  }

  // --- Messages ------------------------------------------------------------------------

  function messageColumns(fifo) {
    const cols = ['Message ID', 'State', 'Receives', 'Sent'];
    if (fifo) cols.push('Group');
    cols.push('Body', 'Actions');
    return cols;
  }

  function renderMessages() {
    const q = state.queue;
    const fifo = Boolean(q.info && q.info.fifo);
    const cols = messageColumns(fifo);
    $('messages-head').replaceChildren(...cols.map((c) => el('th', { scope: 'col' },
      [c === 'Actions' ? el('span', { class: 'visually-hidden', text: c }) : c])));
    const tbody = $('messages-table').tBodies[0];
    keepFocus(tbody, () => {
      const rows = [];
      for (const m of q.messages) {
        rows.push(messageRow(m, fifo));
        if (m.messageId === q.expandedId) rows.push(detailRow(m, cols.length));
      }
      tbody.replaceChildren(...rows);
    });
    show($('messages-empty'), q.messages.length === 0);
    show($('messages-table'), q.messages.length > 0);
    show($('load-more'), q.next !== null);
    $('messages-count').textContent = q.messages.length === 0 ? '' :
      'Showing ' + fmtInt(q.messages.length) + ' message' + (q.messages.length === 1 ? '' : 's') +
      (q.next !== null ? ', more after these.' : '.');
  }

  function preview(body) {
    const flat = String(body).replace(/\s+/g, ' ').trim();
    return flat.length > PREVIEW_CHARS ? flat.slice(0, PREVIEW_CHARS) + '…' : flat;
  }

  function messageRow(m, fifo) {
    const sys = m.systemAttributes || {};
    const expanded = m.messageId === state.queue.expandedId;
    const stateText = m.state || '—';
    const stateCell = el('td', {}, [el('span', { class: 'badge state-' + stateText.replace(/\s+/g, '-'), text: stateText })]);
    if (m.state !== 'visible' && Number(m.visibleAtMs) > Date.now()) {
      stateCell.append(el('span', { class: 'muted until',
        text: ' visible in ' + fmtAge((Number(m.visibleAtMs) - Date.now()) / 1000) }));
    }
    const cells = [
      el('td', {}, [el('code', { class: 'message-id', text: m.messageId })]),
      stateCell,
      el('td', { class: 'num receive-count', text: String(sys.ApproximateReceiveCount ?? '0') }),
      el('td', {}, [timeNode(sys.SentTimestamp)]),
    ];
    if (fifo) cells.push(el('td', { class: 'group-id', text: sys.MessageGroupId || '' }));
    cells.push(el('td', { class: 'preview', text: preview(m.body) }));
    cells.push(el('td', {}, [el('button', {
      type: 'button', class: 'button-small button-danger delete-message',
      dataset: { focusKey: 'delete:' + m.messageId },
      'aria-label': 'Delete message ' + m.messageId, text: 'Delete',
      onclick: (e) => { e.stopPropagation(); deleteMessage(m); },
    })]));
    // The row itself is the disclosure control (Enter/Space/click), so it is focusable.
    return el('tr', {
      class: 'message-row' + (expanded ? ' expanded' : ''),
      'data-message-id': m.messageId,
      tabindex: '0',
      'aria-expanded': expanded ? 'true' : 'false',
      'aria-controls': expanded ? 'message-detail' : null,
      dataset: { focusKey: 'row:' + m.messageId },
      onclick: (e) => { if (!e.target.closest('button, a')) toggleMessage(m.messageId); },
      onkeydown: (e) => onMessageKey(e, m.messageId),
    }, cells);
  }

  function onMessageKey(event, id) {
    if (event.target !== event.currentTarget) return; // keys on the Delete button are its own
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      toggleMessage(id);
    } else if (event.key === 'Escape' && state.queue.expandedId === id) {
      event.preventDefault();
      toggleMessage(id);
    }
  }

  function toggleMessage(id) {
    const q = state.queue;
    q.expandedId = q.expandedId === id ? null : id;
    renderMessages();
    focusMessageRow(id);
  }

  function focusMessageRow(id) {
    for (const row of $('messages-table').querySelectorAll('tr[data-message-id]')) {
      if (row.getAttribute('data-message-id') === id) {
        row.focus();
        return;
      }
    }
  }

  // The expanded message: its identity, the body (text, JSON or hex) and both attribute sets.
  function detailRow(m, columns) {
    const fact = (term, value) => el('div', {}, [el('dt', { text: term }), el('dd', {}, [value])]);
    const detail = el('div', { id: 'message-detail', class: 'message-detail', role: 'region',
      'aria-label': 'Message ' + m.messageId });
    detail.append(
      el('div', { class: 'detail-head' }, [
        el('h3', { text: 'Message' }),
        el('button', { type: 'button', class: 'button-small', dataset: { focusKey: 'close:' + m.messageId },
          text: 'Close', onclick: () => toggleMessage(m.messageId) }),
      ]),
      el('dl', { class: 'facts detail-facts' }, [
        fact('Message ID', el('code', { text: m.messageId })),
        fact('Position', String(m.position)),
        fact('Visible at', timeNode(m.visibleAtMs)),
      ]),
      el('div', { class: 'detail-head' }, [
        el('h3', { text: 'Body' }),
        el('button', { type: 'button', class: 'button-small', 'aria-pressed': String(state.queue.hexView),
          dataset: { focusKey: 'hex:' + m.messageId }, text: 'Hex',
          onclick: () => { state.queue.hexView = !state.queue.hexView; renderMessages(); } }),
      ]),
      bodyView(m.body, state.queue.hexView),
      el('h3', { text: 'Message attributes' }),
      attributesTable(m.attributes || {}),
      el('h3', { text: 'System attributes' }),
      systemAttributesTable(m.systemAttributes || {}),
    );
    return el('tr', { class: 'detail-row' }, [el('td', { colspan: columns }, [detail])]);
  }

  function bodyView(body, hex) {
    const text = String(body ?? '');
    if (hex) return el('pre', { class: 'body body-hex', text: hexDump(text) });
    const json = parseJson(text);
    if (json !== undefined) return el('pre', { class: 'body body-json', text: JSON.stringify(json, null, 2) });
    return el('pre', { class: 'body body-text', text });
  }

  // Only objects and arrays count as JSON bodies: "42" or "true" read better as plain text.
  function parseJson(text) {
    const t = text.trim();
    if (!(t.startsWith('{') || t.startsWith('['))) return undefined;
    try {
      return JSON.parse(t);
    } catch (e) {
      return undefined;
    }
  }

  // The body's UTF-8 bytes, 16 to a line: offset, hex, and the printable ASCII beside them.
  function hexDump(text) {
    const bytes = new TextEncoder().encode(text);
    const lines = [];
    for (let i = 0; i < bytes.length; i += 16) {
      const chunk = Array.from(bytes.subarray(i, i + 16));
      const hex = chunk.map((b) => b.toString(16).padStart(2, '0')).join(' ');
      const ascii = chunk.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
      lines.push(i.toString(16).padStart(8, '0') + '  ' + hex.padEnd(47) + '  ' + ascii);
    }
    return lines.length ? lines.join('\n') : '(empty)';
  }

  function smallTable(cls, headings, rows, emptyText) {
    if (rows.length === 0) return el('p', { class: 'muted', text: emptyText });
    return el('div', { class: 'table-wrap' }, [el('table', { class: 'small ' + cls }, [
      el('thead', {}, [el('tr', {}, headings.map((h) => el('th', { scope: 'col', text: h })))]),
      el('tbody', {}, rows.map((cells) => el('tr', {}, cells.map((c, i) =>
        (i === 0 ? el('th', { scope: 'row', text: c }) : el('td', {}, [c])))))),
    ])]);
  }

  function attributesTable(attrs) {
    const rows = Object.keys(attrs).sort().map((name) => {
      const a = attrs[name] || {};
      const value = a.stringValue !== undefined && a.stringValue !== null
        ? el('span', { class: 'attr-value', text: a.stringValue })
        : el('span', { class: 'attr-value' }, [a.binaryValue || '', el('span', { class: 'muted', text: ' (base64)' })]);
      return [name, a.dataType || '', value];
    });
    return smallTable('message-attributes', ['Name', 'Type', 'Value'], rows, 'None.');
  }

  // Timestamps in milliseconds that SQS reports as strings; shown as times, with the raw value.
  const SYSTEM_TIMES = new Set(['SentTimestamp', 'ApproximateFirstReceiveTimestamp']);

  function systemAttributesTable(sys) {
    const rows = Object.keys(sys).sort().map((name) => {
      const value = String(sys[name]);
      if (SYSTEM_TIMES.has(name) && Number(value) > 0) {
        return [name, el('span', {}, [timeNode(value), el('span', { class: 'muted', text: ' (' + value + ')' })])];
      }
      return [name, el('span', { class: 'attr-value', text: value })];
    });
    return smallTable('system-attributes', ['Name', 'Value'], rows, 'None.');
  }

  async function loadMoreMessages() {
    const q = state.queue;
    if (q.next === null) return;
    const generation = q.generation;
    const button = $('load-more');
    const before = q.messages.length;
    button.disabled = true;
    try {
      const page = await api('GET', queuePath(q.name) + '/messages?limit=' + MESSAGE_PAGE +
        '&from=' + encodeURIComponent(String(q.next)));
      if (generation !== q.generation) return;
      const known = new Set(q.messages.map((m) => m.messageId));
      q.messages = q.messages.concat((page.messages || []).filter((m) => !known.has(m.messageId)));
      q.next = page.next === undefined ? null : page.next;
      renderMessages();
      // The button disappears after the last page: focus the first new row instead of
      // leaving keyboard focus nowhere.
      const added = q.messages[before];
      if (q.next === null && added) focusMessageRow(added.messageId);
    } catch (e) {
      reportError('Could not load more messages', e);
    } finally {
      button.disabled = false;
    }
  }

  // --- Actions -------------------------------------------------------------------------

  // Asks in a modal <dialog>; resolves true only for the confirming button. Escape cancels
  // (the dialog's own behaviour) and focus goes back where it was.
  function confirmDialog(title, message, okLabel) {
    const dialog = $('confirm-dialog');
    const opener = document.activeElement;
    $('confirm-title').textContent = title;
    $('confirm-message').textContent = message;
    $('confirm-ok').textContent = okLabel;
    dialog.returnValue = '';
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => {
        if (opener && document.contains(opener)) opener.focus();
        resolve(dialog.returnValue === 'ok');
      }, { once: true });
      dialog.showModal();
      $('confirm-cancel').focus(); // the safe choice is the default one
    });
  }

  // Runs one action: a status line before and after, then the page's data reloaded.
  async function runAction(pending, action, done, failed) {
    setStatus(pending, 'pending');
    try {
      const answer = await action();
      setStatus(done(answer), 'ok');
    } catch (e) {
      if (e.handled) return; // the sign-in form has replaced the page
      setStatus(failed + ': ' + e.message, 'error');
    }
    if (state.view === 'queue') await refreshQueue();
  }

  async function deleteMessage(m) {
    const ok = await confirmDialog('Delete this message?',
      'Message ' + m.messageId + ' will be deleted from ' + state.queue.name + ', whether it is in flight or not.',
      'Delete message');
    if (!ok) return;
    const path = queuePath(state.queue.name) + '/messages/' + encodeURIComponent(String(m.position)) +
      '?messageId=' + encodeURIComponent(m.messageId);
    if (state.queue.expandedId === m.messageId) state.queue.expandedId = null;
    await runAction('Deleting message ' + m.messageId + '…', () => api('DELETE', path),
      () => 'Deleted message ' + m.messageId + '.', 'Could not delete message ' + m.messageId);
  }

  async function purgeQueue() {
    const name = state.queue.name;
    const ok = await confirmDialog('Purge ' + name + '?',
      'Every message in the queue ' + name + ' will be deleted. This cannot be undone.', 'Purge ' + name);
    if (!ok) return;
    await runAction('Purging ' + name + '…', () => api('POST', queuePath(name) + '/purge', {}),
      () => 'Purged ' + name + '.', 'Could not purge ' + name);
  }

  async function redrive() {
    const name = state.queue.name;
    await runAction('Starting a redrive of ' + name + '…', () => api('POST', queuePath(name) + '/redrive', {}),
      (answer) => 'Redrive started' + (answer && answer.taskHandle ? ' (task ' + answer.taskHandle + ')' : '') +
        ': moving the messages of ' + name + ' back to their source queues.',
      'Could not start the redrive');
  }

  async function cancelTask(handle) {
    const name = state.queue.name;
    await runAction('Cancelling the move task…',
      () => api('POST', queuePath(name) + '/redrive/cancel', { taskHandle: handle }),
      () => 'Cancelled the move task.', 'Could not cancel the move task');
  }

  async function onSend(event) {
    event.preventDefault();
    const q = state.queue;
    const fifo = Boolean(q.info && q.info.fifo);
    const error = $('send-error');
    const body = $('send-body').value;
    const request = { body };
    for (const id of ['send-body', 'send-group', 'send-delay']) $(id).removeAttribute('aria-invalid');
    let problem = null;
    if (body === '') problem = ['send-body', 'Write a message body.'];
    if (fifo) {
      const group = $('send-group').value.trim();
      const dedup = $('send-dedup').value.trim();
      if (!group && !problem) problem = ['send-group', 'A FIFO queue needs a message group ID.'];
      if (group) request.messageGroupId = group;
      if (dedup) request.messageDeduplicationId = dedup;
    } else if ($('send-delay').value !== '') {
      const delay = Number($('send-delay').value);
      if (!Number.isInteger(delay) || delay < 0 || delay > 900) {
        problem = problem || ['send-delay', 'The delay is a whole number of seconds from 0 to 900.'];
      } else {
        request.delaySeconds = delay;
      }
    }
    if (problem) {
      error.textContent = problem[1];
      show(error, true);
      $(problem[0]).setAttribute('aria-invalid', 'true');
      $(problem[0]).focus();
      return;
    }
    show(error, false);
    const submit = $('send-submit');
    submit.disabled = true;
    let sent = false;
    await runAction('Sending…', async () => {
      const answer = await api('POST', queuePath(q.name) + '/messages', request);
      sent = true;
      return answer;
    }, (answer) => {
      const id = answer && (answer.MessageId || answer.messageId);
      return 'Sent message' + (id ? ' ' + id : '') + ' to ' + q.name + '.';
    }, 'Could not send the message');
    submit.disabled = false;
    if (sent) {
      $('send-body').value = '';
      $('send-dedup').value = '';
    }
  }

  // ---------------------------------------------------------------------------------------
  // 7. Start-up
  // ---------------------------------------------------------------------------------------

  function onVisibilityChange() {
    if (document.hidden) {
      stopOverviewPolling();
      stopTaskPolling();
      return;
    }
    if (state.view === 'overview' && !state.overview.timer) pollOverview(state.overview.generation);
    if (state.view === 'queue') scheduleTaskPoll(state.queue.generation);
  }

  // Escape closes the open message details from anywhere inside them (dialogs close by
  // themselves) and puts focus back on the row that opened them.
  function onDocumentKey(event) {
    if (event.key !== 'Escape' || $('confirm-dialog').open) return;
    const id = state.queue.expandedId;
    if (state.view !== 'queue' || id === null) return;
    const detail = $('message-detail');
    if (!detail || !detail.contains(document.activeElement)) return;
    event.preventDefault();
    toggleMessage(id);
  }

  function wire() {
    $('signin-form').addEventListener('submit', onSignIn);
    $('signout').addEventListener('click', onSignOut);
    $('queue-filter').addEventListener('input', onFilterInput);
    $('send-form').addEventListener('submit', onSend);
    $('purge').addEventListener('click', purgeQueue);
    $('redrive').addEventListener('click', redrive);
    $('load-more').addEventListener('click', loadMoreMessages);
    $('queue-refresh').addEventListener('click', () => refreshQueue());
    $('messages-refresh').addEventListener('click', () => refreshQueue());
    window.addEventListener('hashchange', () => {
      setStatus(''); // an outcome belongs to the page it happened on
      route(true);
    });
    document.addEventListener('visibilitychange', onVisibilityChange);
    document.addEventListener('keydown', onDocumentKey);
  }

  async function start() {
    wire();
    try {
      await loadSession();
    } catch (e) {
      setStatus('Could not reach the broker: ' + e.message + '. Reload the page to try again.', 'error');
      return;
    }
    renderSessionHeader();
    route(false);
  }

  start();
}());
