// The Sluice console's page script: a small client of the JSON API in docs/console.md.
//
// Organisation, top to bottom:
//   1. State and DOM helpers (`el`, `show`, formatting of numbers, ages, times and bytes).
//   2. The API client (`api`): same-origin credentials, the CSRF header on every request that
//      changes something, `{error: {code, message}}` turned into an ApiError, and a 401
//      SignInRequired anywhere sending the user back to the sign-in form.
//   3. Session: loading it, the sign-in form, the header, signing out.
//   4. Routing on the hash (`#/`, `#/queues/<name>`, `#/topics/<name>`, `#/streams/<name>`);
//      each view has an enter and a leave so timers stop with the view.
//   5. Overview: polling every 3 s, rates from successive counters, SVG sparklines, and tables
//      updated row by row so that focus and text selection survive a refresh.
//   6. Queue page: attributes, move tasks (refreshed while one runs), peeked messages with
//      expandable details, and the actions (send, delete, purge, redrive, cancel).
//   6b. Topic page: subscriptions with their filter policies and delivery state (refreshed
//      every 5 s), and a test publish that lists the subscriptions it matched.
//   6c. Stream page: shards and their lineage drawn as SVG, a record browser (a starting
//      position, pages with "More", text, JSON or hex), a live tail, consumers.
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
    topic: {
      name: null,
      generation: 0,
      info: null,         // GET /console/api/topics/{name}
      timer: null,
      attributeRows: 0,   // ids handed to the publish form's attribute rows
    },
    stream: {
      name: null,
      generation: 0,
      info: null,         // GET /console/api/streams/{name}
      reads: 0,           // bumps with each records read, so only the latest one's answer counts
      records: [],        // the records shown, oldest first
      shard: null,        // the shard they come from
      from: null,         // the starting position of the browse
      next: null,         // nextIterator of the last page (null: a closed shard's end)
      behind: null,       // millisBehindLatest of the last page
      children: null,     // the child shards, at a closed shard's end
      loaded: false,      // a page was read
      trimmed: false,     // the tail dropped its oldest records
      tail: null,         // {shard, iterator, busy, gap} while the live tail runs
      tailTimer: null,
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
    for (const id of ['overview', 'queue-page', 'topic-page', 'stream-page', 'not-found']) show($(id), false);
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
    const stream = /^\/streams\/([^/]+)\/?$/.exec(hash);
    if (stream) {
      try {
        return { view: 'stream', name: decodeURIComponent(stream[1]) };
      } catch (e) {
        return { view: 'not-found' };
      }
    }
    const topic = /^\/topics\/([^/]+)\/?$/.exec(hash);
    if (topic) {
      try {
        return { view: 'topic', name: decodeURIComponent(topic[1]) };
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
    stopTopicPolling();
    state.topic.generation += 1;
    stopTail();
    state.stream.generation += 1;
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
    show($('topic-page'), target.view === 'topic');
    show($('stream-page'), target.view === 'stream');
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
    } else if (target.view === 'topic') {
      document.title = target.name + ' · Sluice console';
      enterTopic(target.name);
      heading = $('topic-name');
    } else if (target.view === 'stream') {
      document.title = target.name + ' · Sluice console';
      enterStream(target.name);
      heading = $('stream-name');
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
    frag.append(el('a', { href: topicHref(t.name), title: t.arn || '', text: t.name,
      dataset: { focusKey: 'topic:' + t.name } }));
    if (t.fifo) frag.append(' ', el('span', { class: 'badge', text: 'FIFO' }));
    return frag;
  }

  function renderStreams(streams, region) {
    const empty = $('streams-empty');
    empty.textContent = 'No streams in ' + region + ' yet.';
    show(empty, streams.length === 0);
    show($('streams-table'), streams.length > 0);
    syncRows($('streams-table').tBodies[0], streams, 'data-stream', (s) => s.name, (s) => [
      { key: s.name, cls: 'name', build: () => el('a', { href: streamHref(s.name), title: s.arn || '', text: s.name,
        dataset: { focusKey: 'stream:' + s.name } }) },
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
    return hexLines(new TextEncoder().encode(text));
  }

  // Bytes as a hex dump (a stream record's data is bytes, not text).
  function hexLines(bytes) {
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
  // 6b. Topic page
  // ---------------------------------------------------------------------------------------

  const TOPIC_POLL_MS = 5000;
  const ATTRIBUTE_TYPES = ['String', 'Number', 'String.Array'];
  const topicPath = (name) => '/console/api/topics/' + encodeURIComponent(name);

  function topicHref(name) {
    return '#/topics/' + encodeURIComponent(name);
  }

  function enterTopic(name) {
    const t = state.topic;
    if (t.name !== name) {
      t.name = name;
      t.info = null;
      $('publish-form').reset();
      $('publish-attributes').replaceChildren();
      show($('publish-error'), false);
      show($('publish-result'), false);
      show($('topic-body'), false);
    }
    $('topic-name').textContent = name;
    $('crumb-topic').textContent = name;
    show($('topic-error'), false);
    pollTopic(t.generation);
  }

  function stopTopicPolling() {
    clearTimeout(state.topic.timer);
    state.topic.timer = null;
  }

  // Loads the topic, then again every 5 s while the page is shown: the delivery state (backlog,
  // retries) is what someone watching a failing endpoint waits for.
  async function pollTopic(generation) {
    stopTopicPolling();
    await refreshTopic(generation);
    if (generation !== state.topic.generation || document.hidden || !state.topic.info) return;
    stopTopicPolling();
    state.topic.timer = setTimeout(() => pollTopic(generation), TOPIC_POLL_MS);
  }

  async function refreshTopic(generation) {
    const name = state.topic.name;
    try {
      const info = await api('GET', topicPath(name));
      if (generation !== state.topic.generation) return;
      state.topic.info = info;
      renderTopic(info);
      show($('topic-error'), false);
      show($('topic-body'), true);
    } catch (e) {
      if (generation !== state.topic.generation || e.handled) return;
      const missing = e.status === 404;
      $('topic-error').textContent = missing
        ? 'There is no topic named “' + name + '” here: ' + e.message
        : 'Could not load the topic: ' + e.message;
      show($('topic-error'), true);
      // A failed refresh keeps what was shown; a first load has nothing to keep.
      if (!state.topic.info || missing) {
        state.topic.info = null;
        show($('topic-body'), false);
      }
    }
  }

  function renderTopic(info) {
    const fifo = Boolean(info.fifo);
    $('topic-kind').textContent = fifo ? 'FIFO' : 'Standard';
    $('topic-arn').textContent = info.arn || '—';
    $('topic-published').textContent = fmtInt(info.published);
    $('topic-delivered').textContent = fmtInt(info.delivered);
    $('topic-failed').textContent = fmtInt(info.failed);
    $('topic-failed').className = Number(info.failed) > 0 ? 'warn' : '';
    renderSubscriptions(info);
    const attrs = info.attributes || {};
    $('topic-attributes').replaceChildren(...Object.keys(attrs).sort().map((name) => el('div', {}, [
      el('dt', { text: name }),
      el('dd', {}, [topicAttributeValue(name, attrs[name])]),
    ])));
    for (const node of document.querySelectorAll('#publish-form .fifo-only')) show(node, fifo);
  }

  const TOPIC_JSON_ATTRIBUTES = new Set(['Policy', 'DeliveryPolicy', 'EffectiveDeliveryPolicy', 'DataProtectionPolicy']);

  function topicAttributeValue(name, value) {
    if (TOPIC_JSON_ATTRIBUTES.has(name)) {
      const json = parseJson(String(value));
      if (json !== undefined) return el('pre', { class: 'attr-json', text: JSON.stringify(json, null, 2) });
    }
    return el('span', { text: String(value) });
  }

  function renderSubscriptions(info) {
    const subs = info.subscriptions;
    const empty = $('subscriptions-empty');
    const table = $('topic-subscriptions');
    if (subs === null || subs === undefined) {
      empty.textContent = 'This key may not list the topic’s subscriptions (sns:ListSubscriptionsByTopic).';
      show(empty, true);
      show(table, false);
      $('subscriptions-count').textContent = '';
      return;
    }
    empty.textContent = 'No subscriptions yet.';
    show(empty, subs.length === 0);
    show(table, subs.length > 0);
    const total = Number(info.subscriptionCount) || subs.length;
    $('subscriptions-count').textContent = total > subs.length
      ? 'Showing ' + fmtInt(subs.length) + ' of ' + fmtInt(total) + ' subscriptions.' : '';
    syncRows(table.tBodies[0], subs, 'data-subscription-arn', (s) => s.subscriptionArn, (s) => {
      const d = s.delivery;
      return [
        { key: s.protocol + '|' + s.endpoint, cls: 'sub-endpoint', build: () => endpointNode(s, 'endpoint:' + s.subscriptionArn) },
        textCell(s.protocol, 'sub-protocol'),
        { key: String(s.confirmed) + '|' + s.rawMessageDelivery, cls: 'sub-status', build: () => statusNode(s) },
        { key: String(s.filterPolicy) + '|' + s.filterPolicyScope, cls: 'sub-filter', build: () => filterNode(s) },
        { key: String(s.deadLetterTargetArn), cls: 'sub-dlq', build: () => (s.deadLetterTargetArn
          ? queueLink(nameFromArn(s.deadLetterTargetArn), 'dlq:' + s.subscriptionArn)
          : el('span', { class: 'muted', text: '—' })) },
        textCell(d ? fmtInt(d.backlog) : '—', 'num sub-backlog' + (d && d.backlog > 0 ? ' warn' : '')),
        { key: JSON.stringify(d ? d.retries : null) + '|' + (d ? d.retrying : ''),
          cls: 'num sub-retrying' + (d && d.retrying > 0 ? ' warn' : ''), build: () => retryingNode(s) },
        textCell(d ? fmtAge(d.oldestAgeSeconds) : '—', 'num sub-oldest'),
      ];
    });
  }

  // The endpoint as a reader knows it: a queue of this account and region links to its page,
  // anything else is shown as it is, with the subscription ARN on hover.
  function endpointNode(s, focusKey) {
    const region = state.session && state.session.region;
    const account = state.session && state.session.account;
    if (s.protocol === 'sqs') {
      const parts = String(s.endpoint).split(':');
      if (parts.length === 6 && parts[3] === region && parts[4] === account) {
        const link = queueLink(parts[5], focusKey);
        link.title = s.subscriptionArn;
        return link;
      }
    }
    return el('span', { class: 'endpoint', title: s.subscriptionArn, text: s.endpoint });
  }

  function statusNode(s) {
    const frag = document.createDocumentFragment();
    frag.append(el('span', { class: 'badge ' + (s.confirmed ? 'sub-confirmed' : 'sub-pending'),
      text: s.confirmed ? 'Confirmed' : 'Pending confirmation' }));
    if (s.rawMessageDelivery) frag.append(' ', el('span', { class: 'badge', text: 'Raw' }));
    return frag;
  }

  function filterNode(s) {
    if (!s.filterPolicy) return el('span', { class: 'muted', text: 'None: every message' });
    const json = parseJson(String(s.filterPolicy));
    const text = json === undefined ? String(s.filterPolicy) : JSON.stringify(json, null, 2);
    return el('div', {}, [
      el('span', { class: 'muted filter-scope', text: s.filterPolicyScope === 'MessageBody' ? 'On the body' : 'On attributes' }),
      // Focusable: a long policy scrolls inside its box, which a keyboard must reach.
      el('pre', { class: 'filter-policy', tabindex: '0', 'aria-label': 'Filter policy', text,
        dataset: { focusKey: 'filter:' + s.subscriptionArn } }),
    ]);
  }

  // The retry count, and behind a disclosure the deliveries in retry with their attempts and
  // next attempt (a <details> is keyboard-operable as it is).
  function retryingNode(s) {
    const d = s.delivery;
    if (!d) return document.createTextNode('—');
    const retries = d.retries || [];
    if (retries.length === 0) return document.createTextNode(fmtInt(d.retrying));
    const rows = retries.map((r) => el('li', { 'data-message-id': r.messageId }, [
      el('code', { class: 'message-id', text: r.messageId }),
      ' ' + (r.type === 'Notification' ? '' : r.type + ', ') + r.attempts + ' failed attempt' + (r.attempts === 1 ? '' : 's') + ', next ',
      timeNode(r.nextAttemptMs),
    ]));
    return el('details', { class: 'retries' }, [
      el('summary', { dataset: { focusKey: 'retries:' + s.subscriptionArn }, text: fmtInt(d.retrying) }),
      el('ul', {}, rows),
    ]);
  }

  // --- Publish -------------------------------------------------------------------------

  function addAttributeRow(name, type, value) {
    const list = $('publish-attributes');
    const n = (state.topic.attributeRows = (state.topic.attributeRows || 0) + 1);
    const id = (part) => 'publish-attr-' + part + '-' + n;
    const select = el('select', { id: id('type'), class: 'attr-type' },
      ATTRIBUTE_TYPES.map((t) => el('option', { value: t, text: t })));
    select.value = type || 'String';
    const row = el('div', { class: 'attribute-row', 'data-attribute-row': String(n) }, [
      el('div', { class: 'field' }, [
        el('label', { for: id('name'), text: 'Name' }),
        el('input', { id: id('name'), class: 'attr-name', type: 'text', autocomplete: 'off', spellcheck: 'false', value: name || '' }),
      ]),
      el('div', { class: 'field' }, [el('label', { for: id('type'), text: 'Type' }), select]),
      el('div', { class: 'field' }, [
        el('label', { for: id('value'), text: 'Value' }),
        el('input', { id: id('value'), class: 'attr-value-input', type: 'text', autocomplete: 'off', spellcheck: 'false', value: value || '' }),
      ]),
      el('button', { type: 'button', class: 'button-small attr-remove', text: 'Remove',
        'aria-label': 'Remove this attribute',
        onclick: () => {
          row.remove();
          $('publish-add-attribute').focus();
        } }),
    ]);
    list.append(row);
    row.querySelector('.attr-name').focus();
  }

  // The attribute rows as the endpoint takes them, or the first problem with its input.
  function readAttributes() {
    const attributes = {};
    for (const row of $('publish-attributes').querySelectorAll('[data-attribute-row]')) {
      const nameInput = row.querySelector('.attr-name');
      const valueInput = row.querySelector('.attr-value-input');
      const name = nameInput.value.trim();
      const value = valueInput.value;
      if (!name && value === '') continue; // an empty row is ignored
      if (!name) return { problem: [nameInput, 'Give the attribute a name.'] };
      if (attributes[name]) return { problem: [nameInput, 'The attribute “' + name + '” is there twice.'] };
      if (value === '') return { problem: [valueInput, 'Give the attribute “' + name + '” a value.'] };
      attributes[name] = { dataType: row.querySelector('.attr-type').value, stringValue: value };
    }
    return { attributes };
  }

  async function onPublish(event) {
    event.preventDefault();
    const t = state.topic;
    const fifo = Boolean(t.info && t.info.fifo);
    const error = $('publish-error');
    for (const node of $('publish-form').querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
    const message = $('publish-message').value;
    const request = { message };
    let problem = null;
    if (message === '') problem = [$('publish-message'), 'Write a message.'];
    const subject = $('publish-subject').value.trim();
    if (subject) request.subject = subject;
    if (fifo) {
      const group = $('publish-group').value.trim();
      const dedup = $('publish-dedup').value.trim();
      if (!group && !problem) problem = [$('publish-group'), 'A FIFO topic needs a message group ID.'];
      if (group) request.messageGroupId = group;
      if (dedup) request.messageDeduplicationId = dedup;
    }
    const read = readAttributes();
    if (read.problem && !problem) problem = read.problem;
    if (read.attributes && Object.keys(read.attributes).length > 0) request.attributes = read.attributes;
    if (problem) {
      error.textContent = problem[1];
      show(error, true);
      problem[0].setAttribute('aria-invalid', 'true');
      problem[0].focus();
      return;
    }
    show(error, false);
    const submit = $('publish-submit');
    const generation = t.generation;
    submit.disabled = true;
    setStatus('Publishing…', 'pending');
    try {
      const answer = await api('POST', topicPath(t.name) + '/publish', request);
      if (generation !== t.generation) return;
      setStatus('Published message ' + (answer.messageId || '') + ' to ' + t.name + '.', 'ok');
      renderPublishResult(answer);
      $('publish-dedup').value = '';
      await refreshTopic(generation);
    } catch (e) {
      if (e.handled || generation !== t.generation) return;
      error.textContent = 'Could not publish: ' + e.message;
      show(error, true);
      setStatus('');
    } finally {
      submit.disabled = false;
    }
  }

  function renderPublishResult(answer) {
    const subs = (state.topic.info && state.topic.info.subscriptions) || [];
    const byArn = new Map(subs.map((s) => [s.subscriptionArn, s]));
    const summary = 'Message ' + (answer.messageId || '—') +
      (answer.sequenceNumber ? ', sequence number ' + answer.sequenceNumber : '') + '.';
    $('publish-summary').textContent = summary;
    const listed = Array.isArray(answer.matched);
    show($('publish-lists'), listed);
    show($('publish-unlisted'), !listed);
    if (listed) {
      fillMatchList('publish-matched', answer.matched, byArn, 'No subscription: nothing was delivered.');
      fillMatchList('publish-not-matched', answer.notMatched || [], byArn, 'None.');
      const pending = answer.pendingConfirmation || [];
      show($('publish-pending-group'), pending.length > 0);
      fillMatchList('publish-pending', pending, byArn, 'None.');
    }
    show($('publish-result'), true);
  }

  function fillMatchList(id, arns, byArn, emptyText) {
    const list = $(id);
    if (arns.length === 0) {
      list.replaceChildren(el('li', { class: 'muted', text: emptyText }));
      return;
    }
    list.replaceChildren(...arns.map((arn) => {
      const s = byArn.get(arn);
      const label = s ? [endpointNode(s), el('span', { class: 'muted', text: ' (' + s.protocol + ')' })]
        : [el('code', { text: arn })];
      return el('li', { 'data-subscription-arn': arn }, label);
    }));
  }

  // ---------------------------------------------------------------------------------------
  // 6c. Stream page
  // ---------------------------------------------------------------------------------------

  const RECORD_PAGE = 100;
  const TAIL_POLL_MS = 1000;
  const TAIL_PAGE = 1000;          // the most one records call returns (docs/console.md)
  const TAIL_KEEP = 500;           // the live tail shows the newest 500 records
  const BROWSE_KEEP = 5000;        // "More" stops here: the page is for reading, not exporting
  const DATA_SHOWN_CHARS = 4096;   // a record's data is shown up to this many characters
  const DATA_DECODED_BYTES = 65536; // and decoded (text, JSON) from at most this many bytes
  const HASH_SPACE = 2n ** 128n;   // hash keys are 0 to 2^128 - 1 (decimal strings)

  const streamPath = (name) => '/console/api/streams/' + encodeURIComponent(name);

  function streamHref(name) {
    return '#/streams/' + encodeURIComponent(name);
  }

  const isOpenShard = (sh) => !(sh.sequenceNumberRange && sh.sequenceNumberRange.endingSequenceNumber);

  function enterStream(name) {
    const s = state.stream;
    if (s.name !== name) {
      s.name = name;
      s.info = null;
      clearRecords();
      $('records-form').reset();
      $('records-shard').replaceChildren();
      show($('records-error'), false);
      show($('stream-body'), false);
      syncStartFields();
      renderRecords(true);
    }
    $('stream-name').textContent = name;
    $('crumb-stream').textContent = name;
    show($('stream-error'), false);
    refreshStream();
  }

  function clearRecords() {
    const s = state.stream;
    s.records = [];
    s.next = null;
    s.behind = null;
    s.children = null;
    s.loaded = false;
    s.trimmed = false;
    s.shard = null;
    s.from = null;
  }

  async function refreshStream() {
    const s = state.stream;
    const generation = s.generation;
    const name = s.name;
    try {
      const info = await api('GET', streamPath(name));
      if (generation !== s.generation) return;
      s.info = info;
      renderStream(info);
      show($('stream-error'), false);
      show($('stream-body'), true);
    } catch (e) {
      if (generation !== s.generation || e.handled) return;
      const missing = e.status === 404;
      $('stream-error').textContent = missing
        ? 'There is no stream named “' + name + '” here: ' + e.message
        : 'Could not load the stream: ' + e.message;
      show($('stream-error'), true);
      // A failed refresh keeps what was shown; a first load has nothing to keep.
      if (!s.info || missing) {
        s.info = null;
        show($('stream-body'), false);
      }
    }
  }

  function renderStream(info) {
    const status = String(info.status || '—');
    const badge = $('stream-status');
    badge.textContent = status;
    badge.className = 'badge status-' + status.toLowerCase();
    $('stream-arn').textContent = info.arn || '—';
    $('stream-mode').textContent = info.mode === 'ON_DEMAND' ? 'On-demand' : 'Provisioned';
    $('stream-retention').textContent = info.retentionHours ? fmtInt(info.retentionHours) + ' hours' : '—';
    $('stream-encryption').textContent = info.encryption === 'KMS' ? 'KMS, key ' + (info.keyId || '—') : 'None';
    $('stream-shard-counts').textContent = fmtInt(info.openShards) + ' open, ' + fmtInt(info.closedShards) + ' closed';
    const shards = info.shards || [];
    renderLineage(shards);
    renderShardTable(shards);
    renderShardPicker(shards);
    renderConsumers(info.consumers);
  }

  // --- Lineage picture -----------------------------------------------------------------

  // Where a hash key sits in the hash key space, 0 to 1 (BigInt: keys are 128-bit).
  function hashFraction(key, plusOne) {
    try {
      const n = BigInt(String(key)) + (plusOne ? 1n : 0n);
      return Number((n * 1000000n) / HASH_SPACE) / 1000000;
    } catch (e) {
      return 0;
    }
  }

  // Each shard's generation: 0 without a listed parent (retention may have removed it), else
  // one more than its latest parent. Parents thus always sit left of their children.
  function shardGenerations(shards) {
    const byId = new Map(shards.map((sh) => [sh.shardId, sh]));
    const generation = new Map();
    const visit = (sh, path) => {
      if (generation.has(sh.shardId)) return generation.get(sh.shardId);
      if (path.has(sh.shardId)) return 0; // lineage has no cycles; this only guards the loop
      path.add(sh.shardId);
      let g = 0;
      for (const id of [sh.parentShardId, sh.adjacentParentShardId]) {
        const parent = id ? byId.get(id) : null;
        if (parent) g = Math.max(g, visit(parent, path) + 1);
      }
      generation.set(sh.shardId, g);
      return g;
    };
    for (const sh of shards) visit(sh, new Set());
    return generation;
  }

  function svgEl(tag, attrs, children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null) continue;
      if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, String(value));
    }
    for (const child of children || []) node.append(child);
    return node;
  }

  // Shards as bars in columns by generation, each spanning its hash key range; a curve from
  // each parent to each child. A split fans out from one bar to two, a merge joins two.
  function renderLineage(shards) {
    const box = $('lineage');
    if (shards.length === 0) {
      box.replaceChildren(el('p', { class: 'empty', text: 'No shards listed.' }));
      return;
    }
    const generation = shardGenerations(shards);
    const columns = Math.max(0, ...generation.values()) + 1;
    const barWidth = 84;
    const gap = 56;
    const height = 240;
    const pad = 6;
    const width = pad * 2 + columns * barWidth + (columns - 1) * gap;
    const byId = new Map(shards.map((sh) => [sh.shardId, sh]));
    const geometry = new Map();
    for (const sh of shards) {
      const range = sh.hashKeyRange || {};
      const top = pad + hashFraction(range.startingHashKey, false) * height;
      const bottom = pad + hashFraction(range.endingHashKey, true) * height;
      const x = pad + generation.get(sh.shardId) * (barWidth + gap);
      geometry.set(sh.shardId, { x, top, bottom: Math.max(bottom, top + 2) });
    }
    const svg = svgEl('svg', {
      viewBox: '0 0 ' + width + ' ' + (height + pad * 2),
      width: String(width),
      height: String(height + pad * 2),
      // A few generations shrink to fit a phone; many scroll sideways instead, readable.
      class: 'lineage-svg' + (columns <= 4 ? ' lineage-fit' : ''),
      role: 'group',
      'aria-label': 'Shard lineage: ' + shards.length + ' shards in ' + columns + ' generation' + (columns === 1 ? '' : 's'),
    });
    // Edges first, so the bars are drawn over them.
    for (const child of shards) {
      const c = geometry.get(child.shardId);
      for (const [id, kind] of [[child.parentShardId, 'parent'], [child.adjacentParentShardId, 'adjacent']]) {
        const p = id ? geometry.get(id) : null;
        if (!p) continue;
        const x1 = p.x + barWidth;
        const y1 = (p.top + p.bottom) / 2;
        const x2 = c.x;
        const y2 = (c.top + c.bottom) / 2;
        const mid = (x1 + x2) / 2;
        svg.append(svgEl('path', {
          class: 'lineage-edge lineage-edge-' + kind,
          d: 'M' + x1 + ' ' + y1.toFixed(1) + ' C' + mid + ' ' + y1.toFixed(1) + ' ' + mid + ' ' +
            y2.toFixed(1) + ' ' + x2 + ' ' + y2.toFixed(1),
          'data-from': id,
          'data-to': child.shardId,
        }));
      }
    }
    for (const sh of shards) {
      const g = geometry.get(sh.shardId);
      const open = isOpenShard(sh);
      const range = sh.hashKeyRange || {};
      const from = hashFraction(range.startingHashKey, false);
      const to = hashFraction(range.endingHashKey, true);
      const parents = [sh.parentShardId, sh.adjacentParentShardId].filter((id) => id && byId.has(id));
      const label = sh.shardId + ', ' + (open ? 'open' : 'closed') + ', hash keys ' +
        (from * 100).toFixed(1) + ' % to ' + (to * 100).toFixed(1) + ' %' +
        (parents.length ? ', from ' + parents.join(' and ') : '') + '. Select to read its records.';
      const barHeight = g.bottom - g.top;
      const children = [
        svgEl('title', {}, [sh.shardId + (open ? ' (open)' : ' (closed)')]),
        svgEl('rect', { x: g.x, y: g.top.toFixed(1), width: barWidth, height: barHeight.toFixed(1), rx: 3 }),
      ];
      if (barHeight >= 14) {
        children.push(svgEl('text', {
          x: g.x + barWidth / 2,
          y: ((g.top + g.bottom) / 2).toFixed(1),
          'text-anchor': 'middle',
          'dominant-baseline': 'central',
        }, [shortShardId(sh.shardId)]));
      }
      svg.append(svgEl('g', {
        class: 'lineage-shard ' + (open ? 'shard-open' : 'shard-closed'),
        'data-shard-id': sh.shardId,
        tabindex: '0',
        role: 'button',
        'aria-label': label,
        onclick: () => pickShard(sh.shardId),
        onkeydown: (e) => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            pickShard(sh.shardId);
          }
        },
      }, children));
    }
    box.replaceChildren(svg);
  }

  // "shardId-000000000012" → "12": what fits in a bar.
  function shortShardId(id) {
    const match = /(\d+)$/.exec(String(id));
    return match ? String(Number(match[1])) : String(id);
  }

  function pickShard(id) {
    const select = $('records-shard');
    select.value = id;
    select.focus();
    select.scrollIntoView({ block: 'nearest' });
  }

  // --- Shards table --------------------------------------------------------------------

  function renderShardTable(shards) {
    const shardCell = (id, focusKey) => (id
      ? el('code', { text: id, dataset: focusKey ? { focusKey } : undefined })
      : el('span', { class: 'muted', text: '—' }));
    syncRows($('stream-shards').tBodies[0], shards, 'data-shard-id', (sh) => sh.shardId, (sh) => {
      const range = sh.hashKeyRange || {};
      const seq = sh.sequenceNumberRange || {};
      const open = isOpenShard(sh);
      return [
        { key: sh.shardId, build: () => shardCell(sh.shardId) },
        { key: String(open), build: () => el('span', { class: 'badge ' + (open ? 'status-active' : 'shard-closed-badge'), text: open ? 'Open' : 'Closed' }) },
        { key: String(sh.parentShardId), build: () => shardCell(sh.parentShardId) },
        { key: String(sh.adjacentParentShardId), build: () => shardCell(sh.adjacentParentShardId) },
        { key: range.startingHashKey + '-' + range.endingHashKey, cls: 'hash-range', build: () => el('span', {}, [
          el('code', { class: 'hash-start', text: String(range.startingHashKey) }), ' – ',
          el('code', { class: 'hash-end', text: String(range.endingHashKey) }),
          el('span', { class: 'muted hash-share', text: ' (' + (hashFraction(range.startingHashKey, false) * 100).toFixed(1) +
            ' % – ' + (hashFraction(range.endingHashKey, true) * 100).toFixed(1) + ' %)' }),
        ]) },
        { key: seq.startingSequenceNumber + '-' + seq.endingSequenceNumber, cls: 'sequence-range', build: () => el('span', {}, [
          el('code', { class: 'sequence-start', text: String(seq.startingSequenceNumber || '—') }), ' – ',
          seq.endingSequenceNumber
            ? el('code', { class: 'sequence-end', text: String(seq.endingSequenceNumber) })
            : el('span', { class: 'muted', text: 'open' }),
        ]) },
      ];
    });
  }

  // --- Record browser ------------------------------------------------------------------

  function renderShardPicker(shards) {
    const select = $('records-shard');
    const previous = select.value;
    select.replaceChildren(...shards.map((sh) => el('option', {
      value: sh.shardId,
      text: sh.shardId + (isOpenShard(sh) ? '' : ' (closed)'),
    })));
    if (shards.some((sh) => sh.shardId === previous)) select.value = previous;
    else {
      const first = shards.find(isOpenShard) || shards[0];
      if (first) select.value = first.shardId;
    }
  }

  // Shows the sequence number or the time field when the starting position needs one.
  function syncStartFields() {
    const from = $('records-from').value;
    show($('records-sequence-field'), from === 'at_sequence' || from === 'after_sequence');
    show($('records-timestamp-field'), from === 'at_timestamp');
    const time = $('records-timestamp');
    if (from === 'at_timestamp' && !time.value) time.value = utcInputValue(Date.now() - 3600 * 1000);
  }

  // A datetime-local value for epoch ms, written in UTC (the field is labelled so).
  function utcInputValue(ms) {
    return new Date(ms).toISOString().slice(0, 19);
  }

  // A datetime-local value read as UTC; null when it is not a date and time.
  function parseUtcInput(value) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/.exec(String(value));
    if (!m) return null;
    const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]),
      Number(m[6] || 0), Number((m[7] || '0').padEnd(3, '0')));
    return Number.isFinite(ms) && ms >= 0 ? ms : null;
  }

  // The query of a first page from the form, or the field to fix and why.
  function startQuery() {
    const shard = $('records-shard').value;
    if (!shard) return { problem: [$('records-shard'), 'Pick a shard.'] };
    const from = $('records-from').value;
    const params = new URLSearchParams({ shard, from, limit: String(RECORD_PAGE) });
    if (from === 'at_sequence' || from === 'after_sequence') {
      const sequence = $('records-sequence').value.trim();
      if (!/^\d+$/.test(sequence)) {
        return { problem: [$('records-sequence'), 'Enter a sequence number: the digits a record shows.'] };
      }
      params.set('sequence', sequence);
    }
    if (from === 'at_timestamp') {
      const ms = parseUtcInput($('records-timestamp').value);
      if (ms === null) return { problem: [$('records-timestamp'), 'Enter a date and a time, in UTC.'] };
      params.set('timestamp', String(ms));
    }
    return { params, shard };
  }

  function clearRecordsProblem() {
    for (const node of $('records-form').querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
    show($('records-error'), false);
  }

  function showRecordsProblem(node, message) {
    const error = $('records-error');
    error.textContent = message;
    show(error, true);
    if (node) {
      node.setAttribute('aria-invalid', 'true');
      node.focus();
    }
  }

  async function onReadRecords(event) {
    event.preventDefault();
    stopTail();
    clearRecordsProblem();
    const query = startQuery();
    if (query.problem) {
      showRecordsProblem(query.problem[0], query.problem[1]);
      return;
    }
    const s = state.stream;
    clearRecords();
    s.shard = query.shard;
    s.from = $('records-from').value;
    renderRecords(true);
    await readPage(query.params, $('records-load'));
  }

  function readMoreRecords() {
    const s = state.stream;
    if (s.next === null || s.tail) return;
    readPage(new URLSearchParams({ iterator: s.next, limit: String(RECORD_PAGE) }), $('records-more'));
  }

  // One page for the browser ("Read records" or "More"), appended to what is shown.
  async function readPage(params, button) {
    const s = state.stream;
    const generation = s.generation;
    const read = ++s.reads;
    const before = s.records.length;
    button.disabled = true;
    try {
      const page = await api('GET', streamPath(s.name) + '/records?' + params.toString());
      if (generation !== s.generation || read !== s.reads) return;
      const added = page.records || [];
      s.records = s.records.concat(added).slice(0, BROWSE_KEEP);
      s.next = page.nextIterator === undefined ? null : page.nextIterator;
      s.behind = page.millisBehindLatest;
      s.children = page.childShards || null;
      s.loaded = true;
      s.lastEmpty = added.length === 0;
      renderRecords(false);
      // "More" disappears after the last page: focus the first new row instead.
      const first = s.records[before];
      if (button.id === 'records-more' && first && $('records-more').hidden) focusRecordRow(first.sequenceNumber);
    } catch (e) {
      if (generation !== s.generation || read !== s.reads || e.handled) return;
      showRecordsProblem(null, 'Could not read records: ' + e.message + ' (' + e.code + ')');
    } finally {
      button.disabled = false;
    }
  }

  // --- Live tail ------------------------------------------------------------------------

  // Starts or stops following the chosen shard from LATEST: a page every second with the
  // previous page's iterator, new records appended, the newest TAIL_KEEP kept.
  function toggleTail() {
    const s = state.stream;
    if (s.tail) {
      stopTail();
      setStatus('Live tail stopped.', 'ok');
      renderRecords(false);
      return;
    }
    clearRecordsProblem();
    const shard = $('records-shard').value;
    if (!shard) {
      showRecordsProblem($('records-shard'), 'Pick a shard to follow.');
      return;
    }
    clearRecords();
    s.shard = shard;
    s.tail = { shard, iterator: null, busy: false, gap: false };
    const button = $('tail-toggle');
    button.setAttribute('aria-pressed', 'true');
    button.textContent = 'Stop live tail';
    renderRecords(true);
    tailStep(++s.reads);
  }

  function stopTail() {
    const s = state.stream;
    clearTimeout(s.tailTimer);
    s.tailTimer = null;
    if (s.tail) {
      s.tail = null;
      s.reads += 1; // an answer still on its way is dropped
    }
    const button = $('tail-toggle');
    button.setAttribute('aria-pressed', 'false');
    button.textContent = 'Live tail';
  }

  async function tailStep(read) {
    const s = state.stream;
    const tail = s.tail;
    if (!tail || tail.busy || read !== s.reads) return;
    const generation = s.generation;
    const params = tail.iterator
      ? new URLSearchParams({ iterator: tail.iterator, limit: String(TAIL_PAGE) })
      : new URLSearchParams({ shard: tail.shard, from: 'latest', limit: String(TAIL_PAGE) });
    tail.busy = true;
    try {
      const page = await api('GET', streamPath(s.name) + '/records?' + params.toString());
      if (generation !== s.generation || read !== s.reads) return;
      const added = page.records || [];
      if (added.length > 0) {
        s.records = s.records.concat(added);
        if (s.records.length > TAIL_KEEP) {
          s.records = s.records.slice(-TAIL_KEEP);
          s.trimmed = true;
        }
      }
      s.behind = page.millisBehindLatest;
      s.loaded = true;
      tail.iterator = page.nextIterator || null;
      if (!tail.iterator) {
        // The shard was closed (split or merged) and is read to its end.
        s.children = page.childShards || null;
        stopTail();
        setStatus('The shard closed: the live tail stopped. Follow one of its child shards to go on.', 'ok');
        renderRecords(false);
        return;
      }
      renderRecords(false);
    } catch (e) {
      if (generation !== s.generation || read !== s.reads || e.handled) return;
      if (e.code === 'ExpiredIteratorException') {
        // Paused too long (a hidden tab): start again from the newest record.
        tail.iterator = null;
        tail.gap = true;
      } else {
        stopTail();
        renderRecords(false);
        showRecordsProblem(null, 'The live tail stopped: ' + e.message + ' (' + e.code + ')');
        return;
      }
    } finally {
      tail.busy = false;
    }
    scheduleTail(read);
  }

  function scheduleTail(read) {
    const s = state.stream;
    clearTimeout(s.tailTimer);
    s.tailTimer = null;
    if (!s.tail || document.hidden || read !== s.reads) return;
    s.tailTimer = setTimeout(() => tailStep(read), TAIL_POLL_MS);
  }

  // --- Records list --------------------------------------------------------------------

  // Rows are kept by sequence number: records only ever join at the end ("More", the tail)
  // or leave at the start (the tail's bound), so the rows that stay are never moved and keep
  // focus and a text selection. `rebuild` redraws every row (another data view).
  function renderRecords(rebuild) {
    const s = state.stream;
    const tbody = $('records-list').tBodies[0];
    const wanted = new Set(s.records.map((r) => r.sequenceNumber));
    for (const row of Array.from(tbody.rows)) {
      if (rebuild || !wanted.has(row.getAttribute('data-sequence'))) row.remove();
    }
    const shown = new Set(Array.from(tbody.rows, (row) => row.getAttribute('data-sequence')));
    const added = s.records.filter((r) => !shown.has(r.sequenceNumber)).map(recordRow);
    if (added.length > 0) tbody.append(...added);
    show($('records-list'), s.records.length > 0);
    const empty = $('records-empty');
    const noneYet = s.loaded && s.records.length === 0;
    empty.textContent = s.tail
      ? 'Waiting for new records on ' + s.shard + '…'
      : (s.from === 'latest' ? 'No record after LATEST yet: select More to look again, or use the live tail.'
        : 'No records from this position.');
    show(empty, noneYet || (Boolean(s.tail) && s.records.length === 0));
    const more = $('records-more');
    show(more, !s.tail && s.loaded && s.next !== null && s.records.length < BROWSE_KEEP);
    $('records-count').textContent = s.records.length === 0 ? '' :
      fmtInt(s.records.length) + ' record' + (s.records.length === 1 ? '' : 's') + ' shown' +
      (s.tail && s.trimmed ? ' (the newest ' + fmtInt(TAIL_KEEP) + ')' : '') +
      (!s.tail && s.records.length >= BROWSE_KEEP ? ': the most this page shows; start at a later sequence number to read on' : '') + '.';
    $('records-summary').textContent = recordsSummary();
  }

  function recordsSummary() {
    const s = state.stream;
    if (!s.loaded && !s.tail) return '';
    const parts = [];
    if (s.tail) parts.push('Live: following ' + s.shard + ', a page every second.');
    else parts.push('Shard ' + s.shard + '.');
    if (s.tail && s.tail.gap) parts.push('The tail was paused too long and started again from the newest record: some records may be missing.');
    if (Number.isFinite(Number(s.behind)) && s.behind !== null) {
      parts.push(Number(s.behind) === 0 ? 'At the newest record.' : fmtInt(s.behind) + ' ms behind the newest record.');
    }
    if (!s.tail && s.next === null && s.loaded) {
      const children = s.children || [];
      parts.push('End of the closed shard' + (children.length ? '; read on in ' + children.join(' and ') : '') + '.');
    }
    return parts.join(' ');
  }

  function focusRecordRow(sequence) {
    for (const row of $('records-list').tBodies[0].rows) {
      if (row.getAttribute('data-sequence') === sequence) {
        row.focus();
        return;
      }
    }
  }

  function recordRow(r) {
    const bytes = decodeBase64(r.data);
    return el('tr', { 'data-sequence': r.sequenceNumber, tabindex: '-1', class: 'record-row' }, [
      el('th', { scope: 'row' }, [el('code', { class: 'sequence', title: r.sequenceNumber, text: r.sequenceNumber })]),
      el('td', { class: 'partition-key', text: r.partitionKey }),
      el('td', { class: 'arrival' }, [utcTime(r.approximateArrivalTimestampMs)]),
      el('td', { class: 'num size', text: bytes === null ? '—' : fmtBytes(bytes.length) }),
      el('td', { class: 'record-data-cell' }, [dataView(bytes, $('records-view').value)]),
    ]);
  }

  // An arrival time in UTC to the millisecond: the form's time field takes UTC too.
  function utcTime(ms) {
    const n = Number(ms);
    if (!Number.isFinite(n) || n <= 0) return document.createTextNode('—');
    const iso = new Date(n).toISOString();
    return el('time', { datetime: iso, text: iso.replace('T', ' ').replace('Z', '') });
  }

  function decodeBase64(data) {
    try {
      const binary = atob(String(data || ''));
      const bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
      return bytes;
    } catch (e) {
      return null;
    }
  }

  // The data as text (UTF-8, invalid bytes shown as �), pretty-printed JSON or hex, cut to
  // DATA_SHOWN_CHARS with a note saying so.
  function dataView(bytes, view) {
    if (bytes === null) return el('span', { class: 'muted', text: 'Not valid base64.' });
    const notes = [];
    let text;
    if (view === 'hex') {
      text = hexLines(bytes.subarray(0, Math.ceil(DATA_SHOWN_CHARS / 4)));
      if (bytes.length > DATA_SHOWN_CHARS / 4) notes.push('first ' + fmtBytes(Math.ceil(DATA_SHOWN_CHARS / 4)) + ' of ' + fmtBytes(bytes.length));
    } else {
      const decoded = new TextDecoder('utf-8').decode(bytes.subarray(0, DATA_DECODED_BYTES));
      text = decoded;
      if (view === 'json') {
        if (bytes.length > DATA_DECODED_BYTES) notes.push('too long to pretty-print: shown as text');
        else {
          try {
            text = JSON.stringify(JSON.parse(decoded), null, 2);
          } catch (e) {
            notes.push('not JSON: shown as text');
          }
        }
      }
      if (text.length > DATA_SHOWN_CHARS) {
        text = text.slice(0, DATA_SHOWN_CHARS);
        notes.push('cut at ' + fmtInt(DATA_SHOWN_CHARS) + ' characters of ' + fmtBytes(bytes.length));
      }
    }
    const pre = el('pre', { class: 'record-data data-' + view, text: text || '(empty)' });
    // A long value scrolls inside its cell; it must then be reachable by keyboard.
    if (text.length > 400 || text.split('\n').length > 8) pre.setAttribute('tabindex', '0');
    if (notes.length === 0) return pre;
    return el('div', {}, [pre, el('span', { class: 'muted data-note', text: notes.join('; ') })]);
  }

  // --- Consumers -----------------------------------------------------------------------

  function renderConsumers(consumers) {
    const empty = $('consumers-empty');
    const table = $('stream-consumers');
    if (consumers === null || consumers === undefined) {
      empty.textContent = 'This key may not list the stream’s consumers (kinesis:ListStreamConsumers).';
      show(empty, true);
      show(table, false);
      return;
    }
    empty.textContent = 'No registered consumers.';
    show(empty, consumers.length === 0);
    show(table, consumers.length > 0);
    const tbody = table.tBodies[0];
    syncRows(tbody, consumers, 'data-consumer', (c) => c.name, (c) => [
      { key: c.name + '|' + c.arn, build: () => el('span', { title: c.arn || '', text: c.name }) },
      { key: String(c.status), build: () => el('span', { class: 'badge status-' + String(c.status).toLowerCase(), text: c.status || '—' }) },
      { key: String(c.createdAtMs), build: () => timeNode(c.createdAtMs) },
      { key: JSON.stringify(c.subscriptions || []), cls: 'consumer-subscriptions', build: () => subscriptionsNode(c) },
    ]);
    for (const row of tbody.rows) {
      const c = consumers.find((x) => x.name === row.getAttribute('data-consumer'));
      row.setAttribute('data-subscribed', c && c.subscribed ? 'true' : 'false');
    }
  }

  function subscriptionsNode(c) {
    const subs = c.subscriptions || [];
    if (subs.length === 0) return el('span', { class: 'muted', text: 'None running' });
    const frag = document.createDocumentFragment();
    subs.forEach((sub, i) => {
      if (i > 0) frag.append(', ');
      frag.append(el('code', { 'data-shard-id': sub.shardId, text: sub.shardId }));
    });
    return frag;
  }

  // ---------------------------------------------------------------------------------------
  // 7. Start-up
  // ---------------------------------------------------------------------------------------

  function onVisibilityChange() {
    if (document.hidden) {
      stopOverviewPolling();
      stopTaskPolling();
      stopTopicPolling();
      // The tail stays on, paused: it resumes with its iterator when the tab is back.
      clearTimeout(state.stream.tailTimer);
      state.stream.tailTimer = null;
      return;
    }
    if (state.view === 'overview' && !state.overview.timer) pollOverview(state.overview.generation);
    if (state.view === 'queue') scheduleTaskPoll(state.queue.generation);
    if (state.view === 'topic' && !state.topic.timer) pollTopic(state.topic.generation);
    if (state.view === 'stream' && state.stream.tail && !state.stream.tailTimer) tailStep(state.stream.reads);
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
    $('topic-refresh').addEventListener('click', () => pollTopic(state.topic.generation));
    $('publish-form').addEventListener('submit', onPublish);
    $('publish-add-attribute').addEventListener('click', () => addAttributeRow());
    $('stream-refresh').addEventListener('click', () => refreshStream());
    $('records-form').addEventListener('submit', onReadRecords);
    $('records-from').addEventListener('change', syncStartFields);
    $('records-view').addEventListener('change', () => renderRecords(true));
    $('records-more').addEventListener('click', readMoreRecords);
    $('tail-toggle').addEventListener('click', toggleTail);
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
