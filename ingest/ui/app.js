// The fleet page: a hash router over the views, each refreshed on its own interval while
// the tab is visible. Failed or old data is said so, never shown as current.
import { ApiError, forgetToken, hasToken } from './api.js';
import { h, replace } from './dom.js';
import { duration } from './format.js';
import { onPipeline, refreshPipeline } from './pipeline-monitor.js';
import { fleetView } from './views/fleet.js';
import { nodeView } from './views/node.js';
import { nodesView } from './views/nodes.js';
import { pipelineView } from './views/pipeline.js';
import { processView } from './views/process.js';
import { processesView } from './views/processes.js';

const ROUTES = [
  [/^#?\/?$/, () => fleetView(), 'fleet'],
  [/^#\/nodes\/?$/, () => nodesView(), 'nodes'],
  [/^#\/nodes\/(.+)$/, (name) => nodeView(name), 'nodes'],
  [/^#\/processes\/?$/, () => processesView(), 'processes'],
  [/^#\/processes\/(.+)$/, (name) => processView(name), 'processes'],
  [/^#\/pipeline\/?$/, () => pipelineView(), 'pipeline'],
];

const main = document.getElementById('main');
const banners = document.getElementById('banners');
const updated = document.getElementById('updated');
let current = null;

function route() {
  const hash = location.hash;
  for (const [pattern, make, nav] of ROUTES) {
    const match = pattern.exec(hash);
    if (!match) continue;
    let argument;
    try {
      argument = match[1] === undefined ? undefined : decodeURIComponent(match[1].replace(/\/$/, ''));
    } catch {
      break;
    }
    return { view: make(argument), nav };
  }
  return { view: notFoundView(), nav: null };
}

function notFoundView() {
  return {
    title: 'Not found',
    element: h('section', {}, h('h1', {}, 'No such view'), h('p', {}, h('a', { href: '#/' }, 'Go to the fleet'))),
    intervalMs: 60_000,
    refresh: async () => undefined,
  };
}

function show() {
  if (current) {
    current.abort.abort();
    clearTimeout(current.timer);
  }
  const { view, nav } = route();
  const state = { view, abort: new AbortController(), timer: undefined, lastGood: null, running: false };
  current = state;
  view.setReload?.(() => tick(state));
  document.title = `${view.title} · node-aggregation`;
  for (const link of document.querySelectorAll('nav a[data-view]')) {
    if (link.dataset.view === nav) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  main.classList.remove('stale');
  replace(main, view.element);
  clearBanner('stale');
  tick(state);
}

async function tick(state) {
  clearTimeout(state.timer);
  if (state !== current) return;
  if (state.running) {
    state.again = true;
    return;
  }
  if (document.hidden) return; // visibilitychange starts it again
  state.running = true;
  try {
    await state.view.refresh(state.abort.signal);
    if (state !== current) return;
    state.lastGood = new Date();
    main.classList.remove('stale');
    clearBanner('stale');
    updated.textContent = `Updated ${state.lastGood.toLocaleTimeString()}; refreshes every ${duration(state.view.intervalMs)}.`;
  } catch (error) {
    if (error.name === 'AbortError' || state !== current) return;
    if (!(error instanceof ApiError)) console.warn(error);
    main.classList.add('stale');
    showBanner('stale', problemText(error, state.lastGood));
    updated.textContent = state.lastGood ? `Last good data ${state.lastGood.toLocaleTimeString()}; retrying.` : 'No data yet; retrying.';
  } finally {
    state.running = false;
  }
  if (state !== current) return;
  if (state.again) {
    state.again = false;
    tick(state);
    return;
  }
  state.timer = setTimeout(() => tick(state), state.view.intervalMs);
}

function problemText(error, lastGood) {
  const age = lastGood
    ? `The figures shown are from ${lastGood.toLocaleTimeString()} and may be out of date.`
    : 'Nothing could be loaded yet.';
  if (error instanceof ApiError && error.status === 503)
    return `Stale data: the service answers 503 (${error.code}: ${error.message.replace(/\.$/, '')}). ${age}`;
  if (error instanceof ApiError && error.status === 0) return `Stale data: the service does not answer. ${age}`;
  if (error instanceof ApiError) return `The service refused the request: ${error.status} ${error.code}: ${error.message} ${age}`;
  return `The page failed to show this view: ${error.message}. ${age}`;
}

function showBanner(id, text) {
  let banner = document.getElementById(`banner-${id}`);
  if (!banner) {
    banner = h('div', { id: `banner-${id}`, class: 'banner', role: 'alert' });
    banners.append(banner);
  }
  replace(banner, h('strong', {}, '⚠ '), text);
}

function clearBanner(id) {
  document.getElementById(`banner-${id}`)?.remove();
}

// The header badge: the pipeline's state on every view.
const badge = document.getElementById('pipeline-badge');
onPipeline((view) => {
  const stalled = view.stalled.length;
  badge.classList.toggle('bad', stalled > 0);
  replace(
    badge,
    h(
      'a',
      { href: '#/pipeline' },
      stalled > 0 ? `⚠ Pipeline: ${stalled} partition${stalled > 1 ? 's' : ''} stalled` : '✓ Pipeline: advancing',
    ),
  );
});
async function watchPipeline() {
  if (!document.hidden && current?.view.title !== 'Pipeline') {
    await refreshPipeline().catch(() => replace(badge, 'Pipeline: unknown'));
  }
  setTimeout(watchPipeline, 5000);
}

const forget = document.getElementById('forget-token');
const showForget = () => (forget.hidden = !hasToken());
forget.addEventListener('click', () => {
  forgetToken();
  location.reload();
});
document.addEventListener('token-changed', showForget);
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && current) tick(current);
});
window.addEventListener('hashchange', () => {
  show();
  main.focus();
});

showForget();
show();
watchPipeline();
