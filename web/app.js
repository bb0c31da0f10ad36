// The ptv2 dashboard page: renders the JSON of `ptv2 ui`'s API (or, in a `ptv2 report --format html`
// file, the snapshot embedded as window.PTV2_SNAPSHOT) as tables and Vega charts. Hash routes:
// #/ experiments, #/experiments/ID, #/runs/ID, #/curves?runs=1,2. While the server is reachable,
// server-sent events say when the database changed and the current view is fetched again.
'use strict';

(function () {
  const SNAPSHOT = window.PTV2_SNAPSHOT;
  if (SNAPSHOT) document.querySelector('header nav').hidden = true;
  const app = document.getElementById('app');
  let views = [];
  let rendering = Promise.resolve();

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  async function get(path) {
    const res = await fetch(`/api/${path}`, {cache: 'no-store'});
    const body = await res.json();
    if (!res.ok) throw new Error(body.error || `${res.status} ${res.statusText}`);
    return body;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return '–';
    if (seconds < 60) return `${seconds.toFixed(1)} s`;
    const m = Math.floor(seconds / 60);
    if (m < 60) return `${m} min ${String(Math.round(seconds % 60)).padStart(2, '0')} s`;
    return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
  }

  const date = (iso) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : '–');
  const status = (s) => h('span', {class: `status ${s}`, 'data-status': s}, s);
  const percentOf = (value, scale) => (value === null ? '–' : ((value / scale) * 100).toFixed(1));
  const share = (r) => (r.totalParams > 0 ? `${((100 * r.trainableParams) / r.totalParams).toFixed(2)}%` : '–');
  const link = (href, text) => (SNAPSHOT ? text : h('a', {href}, text));

  function truncation(t) {
    const cut = Object.entries(t).filter(([, n]) => n > 0);
    return cut.length === 0 ? '0' : cut.map(([split, n]) => `${n} ${split}`).join(', ');
  }

  function shownTable(t, attrs) {
    return h('table', attrs,
      h('thead', {}, h('tr', {}, t.header.map((text, i) => h('th', {class: i === 0 ? '' : 'num'}, text)))),
      h('tbody', {}, t.rows.map((row) => h('tr', {class: row.label.startsWith('Average') || row.label === 'Trainable parameters' ? 'summary' : ''},
        h('td', {}, row.label),
        row.cells.map((text, c) => h('td', {class: `num${row.rank[c] === 1 ? ' best' : row.rank[c] === 2 ? ' second' : ''}`, 'data-row': row.label, 'data-column': t.header[c + 1]}, text))))));
  }

  async function chart(c) {
    const box = h('div', {class: 'chart', 'data-chart': c.id}, h('h3', {}, c.title));
    const target = h('div', {class: 'vega'});
    box.append(target);
    const view = new vega.View(vega.parse(c.vega), {renderer: 'svg', container: target, hover: true});
    views.push(view);
    await view.runAsync();
    return box;
  }

  async function charts(list) {
    return h('div', {class: 'charts'}, await Promise.all(list.map(chart)));
  }

  function experimentsPage(list) {
    return [
      h('h1', {}, 'Experiments'),
      list.length === 0 ? h('p', {class: 'muted'}, 'No experiments yet: ptv2 run configs/quickstart.yaml') : h('table', {id: 'experiments'},
        h('thead', {}, h('tr', {}, ['Id', 'Name', 'Created', 'Status', 'Runs', 'Completed', 'Failed', 'Interrupted', 'Duration', 'Backend', 'Sweep'].map((t) => h('th', {}, t)))),
        h('tbody', {}, list.map((e) => h('tr', {'data-experiment': e.id},
          h('td', {class: 'num'}, e.id),
          h('td', {}, link(`#/experiments/${e.id}`, e.name)),
          h('td', {}, date(e.createdAt)),
          h('td', {}, status(e.status)),
          h('td', {class: 'num'}, e.runs.total),
          h('td', {class: 'num', 'data-field': 'completed'}, e.runs.completed),
          h('td', {class: 'num', 'data-field': 'failed'}, e.runs.failed),
          h('td', {class: 'num', 'data-field': 'interrupted'}, e.runs.interrupted),
          h('td', {class: 'num'}, duration(e.seconds)),
          h('td', {}, e.backends.join(', ') || '–'),
          h('td', {}, e.sweepKey || '–'))))),
    ];
  }

  function progressPanel(p) {
    const fraction = p.totalSteps ? Math.min(1, p.step / p.totalSteps) : 0;
    return h('div', {class: 'progress', 'data-progress-run': p.run, 'data-step': p.step},
      h('b', {}, `Running ${p.label}`), ' ',
      h('div', {}, h('span', {class: 'bar'}, h('span', {style: `width: ${(fraction * 100).toFixed(1)}%`})),
        `step ${p.step}${p.totalSteps ? ` / ${p.totalSteps}` : ''} · epoch ${p.epoch}${p.epochs ? ` / ${p.epochs}` : ''}`,
        p.loss === null ? '' : ` · loss ${p.loss.toFixed(4)}`,
        p.dev === null ? '' : ` · last dev ${p.dev}`,
        ` · ${duration(p.seconds)}`));
  }

  function runsTable(runs) {
    return h('table', {id: 'runs'},
      h('thead', {}, h('tr', {}, ['', 'Run', 'Task', 'Method', 'Sweep', 'Seed', 'Status', 'Metric', 'Best epoch', 'Dev', 'Test', 'Duration', 'Trainable', 'Truncated'].map((t) => h('th', {}, t)))),
      h('tbody', {}, runs.map((r) => h('tr', {'data-run': r.run},
        h('td', {}, SNAPSHOT ? '' : h('input', {type: 'checkbox', class: 'compare', value: r.run, title: 'compare learning curves'})),
        h('td', {class: 'num'}, link(`#/runs/${r.run}`, r.run)),
        h('td', {}, r.task),
        h('td', {}, r.stage === 'shared' ? `${r.method} (shared)` : r.method),
        h('td', {}, r.sweep || '–'),
        h('td', {class: 'num'}, r.seed),
        h('td', {}, status(r.status), r.error ? h('span', {class: 'muted', title: r.error}, ' ⓘ') : ''),
        h('td', {}, r.keyMetric),
        h('td', {class: 'num', 'data-field': 'bestEpoch'}, r.bestEpoch ?? '–'),
        h('td', {class: 'num', 'data-field': 'dev'}, percentOf(r.dev, r.metricScale)),
        h('td', {class: 'num', 'data-field': 'test'}, percentOf(r.test, r.metricScale)),
        h('td', {class: 'num'}, duration(r.seconds)),
        h('td', {class: 'num', 'data-field': 'trainable'}, `${r.trainableParams.toLocaleString('en')} (${share(r)})`),
        h('td', {}, truncation(r.truncated))))));
  }

  async function experimentPage(v) {
    const e = v.experiment;
    const compare = SNAPSHOT ? '' : h('button', {onclick: () => {
      const ids = [...document.querySelectorAll('input.compare:checked')].map((box) => box.value);
      location.hash = `#/curves?runs=${(ids.length > 0 ? ids : v.runs.map((r) => String(r.run))).join(',')}`;
    }}, 'Compare learning curves of the ticked runs');
    return [
      h('h1', {}, `${e.name} #${e.id} `, status(e.status)),
      h('div', {class: 'facts'},
        h('span', {}, 'created ', h('b', {}, date(e.createdAt))),
        h('span', {}, 'duration ', h('b', {}, duration(e.seconds))),
        h('span', {}, 'runs ', h('b', {}, `${e.runs.completed} completed, ${e.runs.failed} failed, ${e.runs.interrupted} interrupted, ${e.runs.running} running`)),
        h('span', {}, 'backend ', h('b', {}, e.backends.join(', ') || '–')),
        e.sweepKey ? h('span', {}, 'sweep ', h('b', {}, e.sweepKey)) : ''),
      h('div', {id: 'progress'}, v.progress.map(progressPanel)),
      h('h2', {}, v.table.title),
      v.table.rows.length === 0 ? h('p', {class: 'muted'}, 'No completed runs yet.') : shownTable(v.table, {id: 'results'}),
      v.sweep ? [h('h2', {}, `Sweep over ${v.sweep.key}`), v.sweep.tables.map((t) => [h('h3', {}, t.title), shownTable(t, {class: 'sweep'})]),
        v.sweep.references.length > 0 ? h('p', {class: 'muted'}, 'Dashed lines: jobs the sweep does not vary.') : '',
        v.sweep.points.some((p) => p.n > 1) ? h('p', {class: 'muted'}, 'Error bars: mean ± sample standard deviation over the runs at a value.') : ''] : '',
      h('h2', {}, 'Charts'),
      await charts(v.charts),
      h('h2', {}, 'Runs'),
      runsTable(v.runs),
      compare,
      h('details', {}, h('summary', {}, 'Config'), h('pre', {}, v.configText)),
    ];
  }

  async function runPage(d) {
    const r = d.run;
    const metricNames = [...new Set(d.epochs.flatMap((e) => Object.keys(e.metrics)))];
    return [
      h('h1', {}, `Run ${r.label} `, status(r.status)),
      h('div', {class: 'facts'},
        h('span', {}, 'experiment ', link(`#/experiments/${d.experiment.id}`, `${d.experiment.name} #${d.experiment.id}`)),
        h('span', {}, 'best epoch ', h('b', {'data-field': 'bestEpoch'}, r.bestEpoch ?? '–')),
        h('span', {}, `dev ${r.keyMetric} `, h('b', {'data-field': 'dev'}, percentOf(r.dev, r.metricScale))),
        h('span', {}, 'test ', h('b', {'data-field': 'test'}, percentOf(r.test, r.metricScale))),
        h('span', {}, 'duration ', h('b', {}, duration(r.seconds))),
        h('span', {}, 'trainable ', h('b', {}, `${r.trainableParams.toLocaleString('en')} of ${r.totalParams.toLocaleString('en')} (${share(r)})`)),
        h('span', {}, 'truncated ', h('b', {}, truncation(r.truncated))),
        h('span', {}, 'seed ', h('b', {}, r.seed)),
        h('span', {}, 'backend ', h('b', {}, r.backend))),
      r.error ? h('p', {class: 'error'}, r.error) : '',
      await charts(d.charts),
      h('h2', {}, 'Metrics by epoch'),
      h('table', {id: 'epochs'},
        h('thead', {}, h('tr', {}, ['Epoch', 'Step', 'Split', ...metricNames].map((t) => h('th', {}, t)))),
        h('tbody', {}, d.epochs.map((e) => h('tr', {}, h('td', {class: 'num'}, e.epoch), h('td', {class: 'num'}, e.step), h('td', {}, e.split),
          metricNames.map((m) => h('td', {class: 'num'}, e.metrics[m] === undefined ? '' : e.metrics[m].toFixed(4))))))),
      h('h2', {}, 'Files'),
      d.artifacts.length === 0 ? h('p', {class: 'muted'}, 'none recorded') : h('ul', {id: 'artifacts'}, d.artifacts.map((a) => h('li', {}, h('a', {href: a.url}, a.kind), ' ', h('code', {}, a.path)))),
      h('h2', {}, 'Export'),
      d.exportCommand ? h('p', {}, h('code', {id: 'export'}, d.exportCommand)) : h('p', {class: 'muted'}, d.exportNote),
      h('h2', {}, 'Config'),
      h('pre', {id: 'params'}, JSON.stringify(d.params, null, 2)),
    ];
  }

  async function curvesPage(ids, all, data) {
    const chosen = new Set(ids.map(String));
    const groups = new Map();
    for (const r of all) groups.set(r.experiment, [...(groups.get(r.experiment) || []), r]);
    const apply = () => {
      const picked = [...document.querySelectorAll('.picker input:checked')].map((box) => box.value);
      location.hash = `#/curves?runs=${picked.join(',')}`;
    };
    return [
      h('h1', {}, 'Learning curves'),
      h('p', {class: 'muted'}, 'Tick runs from any experiments to overlay them.'),
      h('div', {class: 'picker'}, [...groups.entries()].map(([name, runs]) => h('div', {class: 'group'}, h('b', {}, name),
        runs.map((r) => h('label', {}, h('input', {type: 'checkbox', value: r.id, checked: chosen.has(String(r.id)), onchange: apply}), ` ${r.label} `, status(r.status)))))),
      data.runs.length === 0 ? h('p', {class: 'muted'}, 'No runs picked.') : await charts(data.charts),
    ];
  }

  async function pageFor(hash) {
    if (SNAPSHOT) return experimentPage(SNAPSHOT.experiment);
    const [route, query] = hash.replace(/^#/, '').split('?');
    const parts = route.split('/').filter(Boolean);
    if (parts[0] === 'experiments' && parts[1]) return experimentPage(await get(`experiments/${parts[1]}`));
    if (parts[0] === 'runs' && parts[1]) return runPage(await get(`runs/${parts[1]}`));
    if (parts[0] === 'curves') {
      const ids = (new URLSearchParams(query || '').get('runs') || '').split(',').filter(Boolean);
      const [all, data] = await Promise.all([get('runs'), get(`curves?runs=${ids.join(',')}`)]);
      return curvesPage(ids, all, data);
    }
    return experimentsPage(await get('experiments'));
  }

  function render() {
    rendering = rendering.then(async () => {
      const old = views;
      views = [];
      let content;
      try {
        content = await pageFor(location.hash);
      } catch (error) {
        content = h('p', {class: 'error'}, String(error.message || error));
      }
      const ticked = [...document.querySelectorAll('input.compare:checked')].map((box) => box.value);
      const scroll = window.scrollY;
      app.replaceChildren(...[content].flat(Infinity).filter((c) => c !== null && c !== undefined && c !== ''));
      for (const box of document.querySelectorAll('input.compare')) box.checked = ticked.includes(box.value);
      window.scrollTo(0, scroll);
      for (const view of old) view.finalize();
      document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
    });
    return rendering;
  }

  window.addEventListener('hashchange', () => {
    window.scrollTo(0, 0);
    render();
  });
  render();

  if (!SNAPSHOT && window.EventSource) {
    const live = document.getElementById('live');
    const events = new EventSource('/api/events');
    let pending;
    events.addEventListener('hello', () => { live.hidden = false; });
    events.addEventListener('change', () => {
      clearTimeout(pending);
      pending = setTimeout(render, 200);
    });
    events.onerror = () => { live.hidden = true; };
  }
})();
