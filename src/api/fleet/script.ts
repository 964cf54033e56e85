// The fleet page's script, plain browser JavaScript in a string (no build
// step). It polls queue-stats under the page's own path, so the Basic
// credentials the browser holds for the page cover it, and redraws. Every value
// from the server goes in through textContent, never as markup.
export const FLEET_SCRIPT = String.raw`(function () {
  'use strict';
  var REASONS = ['memory', 'max_jobs', 'crash', 'heartbeat', 'pressure', 'timeout'];
  var STATES = ['waiting', 'delayed', 'active', 'completed', 'failed', 'cancelled'];
  var base = location.pathname.replace(/\/+$/, '');
  var every = Number(new URLSearchParams(location.search).get('every')) || 2000;
  var lastUpdate = null;

  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      if (key === 'text') node.textContent = props[key];
      else if (key === 'className') node.className = props[key];
      else node.setAttribute(key, props[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function mib(bytes) {
    var value = bytes / 1048576;
    return (value < 10 ? value.toFixed(1) : Math.round(value)) + ' MiB';
  }

  function duration(ms) {
    var s = Math.floor(ms / 1000);
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
    if (s < 86400) return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
    return Math.floor(s / 86400) + 'd ' + Math.floor((s % 86400) / 3600) + 'h';
  }

  function num(field, value) {
    return el('td', { 'data-field': field, className: value === 0 ? 'zero' : '', text: String(value) });
  }

  function badge(text, kind) {
    return el('span', { className: 'badge ' + kind, text: text });
  }

  function statusBadges(queue) {
    var badges = [];
    if (queue.crashLooping) badges.push(badge('crash-looping', 'bad'));
    if (queue.liveWorkers === 0) badges.push(badge('no live worker', 'bad'));
    if (queue.orphaned > 0) badges.push(badge(queue.orphaned + ' orphaned', 'bad'));
    if (queue.held) badges.push(badge('held', 'warn'));
    if (queue.paused) badges.push(badge('paused', 'warn'));
    if (badges.length === 0) badges.push(badge('ok', 'ok'));
    return el('td', { 'data-field': 'status', className: 'text' }, badges);
  }

  function boardLink(name) {
    var href = base.replace(/\/fleet$/, '/queues') + '/queue/' + encodeURIComponent(name);
    return el('a', { href: href, title: 'jobs of ' + name + ' in bull-board', text: name });
  }

  function queueRow(name, queue) {
    var cells = [el('th', { scope: 'row', className: 'text' }, [boardLink(name)]), statusBadges(queue), num('liveWorkers', queue.liveWorkers)];
    STATES.forEach(function (state) {
      cells.push(num(state, queue.counts[state]));
      if (state === 'active') cells.push(num('orphaned', queue.orphaned));
    });
    cells.push(num('lastMinuteCompleted', queue.lastMinute.completed), num('lastMinuteFailed', queue.lastMinute.failed));
    REASONS.forEach(function (reason) { cells.push(num(reason, queue.restarts[reason] || 0)); });
    var memory = queue.memory ? mib(queue.memory.budgetBytes) + ' / ' + mib(queue.memory.ceilingBytes) : '–';
    cells.push(el('td', { 'data-field': 'budget', text: memory }));
    return el('tr', { 'data-queue': name }, cells);
  }

  /** RSS as a bar up to the hard ceiling, with a mark at the budget. */
  function memoryCell(rss, memory) {
    if (!memory) return el('td', { 'data-field': 'rss', className: 'text', text: mib(rss) });
    var share = Math.min(1, rss / memory.ceilingBytes);
    var kind = rss > memory.ceilingBytes ? ' ceiling' : rss > memory.budgetBytes ? ' over' : '';
    var bar = el('span', {
      className: 'bar' + kind, role: 'meter', 'aria-valuemin': '0', 'aria-valuenow': String(rss),
      'aria-valuemax': String(memory.ceilingBytes), 'aria-label': 'RSS against the hard ceiling',
    }, [el('span', { className: 'fill' }), el('span', { className: 'budget' })]);
    bar.firstChild.style.width = (share * 100).toFixed(1) + '%';
    bar.lastChild.style.left = ((memory.budgetBytes / memory.ceilingBytes) * 100).toFixed(1) + '%';
    var text = el('span', { className: 'memory-text', text: mib(rss) + ' of ' + mib(memory.budgetBytes) + ' budget' });
    return el('td', { 'data-field': 'rss', className: 'text' }, [bar, text]);
  }

  function workerRow(worker, queues) {
    var queue = queues[worker.queue] || {};
    var state = worker.held ? worker.state + ' (held)' : worker.state;
    return el('tr', { 'data-pid': String(worker.pid), 'data-queue': worker.queue }, [
      el('td', { className: 'text', text: worker.queue }),
      el('td', { 'data-field': 'pid', text: String(worker.pid) }),
      el('td', { 'data-field': 'state', className: 'text', text: state }),
      memoryCell(worker.rss, queue.memory),
      num('active', worker.active), num('processed', worker.processed), num('failed', worker.failed),
      el('td', { 'data-field': 'uptime', text: duration(worker.uptimeMs) }),
    ]);
  }

  /** The host's state from queue-stats: up, or unreachable since it was last seen. */
  function hostState(host) {
    if (host.state !== 'unreachable') return null;
    var since = host.lastSeen ? 'last seen ' + new Date(host.lastSeen).toLocaleTimeString() : 'never seen';
    return el('span', { 'data-field': 'hostState' }, [badge('unreachable', 'bad'), el('span', { className: 'supervisors', text: since })]);
  }

  function hostSection(host, workers, queues) {
    // A worker new to its supervisor has no word from it yet: only a host where none has one runs workers by hand.
    var supervisors = workers.filter(function (w) { return w.supervisor; })
      .map(function (w) { return 'supervisor pid ' + w.supervisor.split(':').pop(); })
      .filter(function (s, i, all) { return all.indexOf(s) === i; });
    if (supervisors.length === 0) supervisors = ['no supervisor'];
    var head = el('tr', {}, ['queue', 'pid', 'state', 'RSS (bar to the hard ceiling, mark at the budget)', 'active', 'jobs run', 'failed', 'uptime']
      .map(function (title, i) { return el('th', { text: title, className: [0, 2, 3].indexOf(i) >= 0 ? 'text' : '' }); }));
    var rows = workers.slice().sort(function (a, b) { return a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : a.pid - b.pid; })
      .map(function (worker) { return workerRow(worker, queues); });
    return el('section', { 'data-host': host.host, 'data-state': host.state }, [
      el('h3', { text: host.host + ' ' }, [hostState(host), el('span', { className: 'supervisors', text: supervisors.join(', ') })]),
      el('table', {}, [el('thead', {}, [head]), el('tbody', {}, rows)]),
    ]);
  }

  function render(stats) {
    var names = Object.keys(stats.queues);
    document.querySelector('#queues tbody').replaceChildren.apply(document.querySelector('#queues tbody'),
      names.map(function (name) { return queueRow(name, stats.queues[name]); }));
    var byHost = {};
    stats.workers.forEach(function (worker) { (byHost[worker.host] = byHost[worker.host] || []).push(worker); });
    var hosts = stats.hosts.map(function (host) { return hostSection(host, byHost[host.host] || [], stats.queues); });
    var container = document.getElementById('hosts');
    if (hosts.length === 0) hosts = [el('p', { text: 'No worker on any host.' })];
    container.replaceChildren.apply(container, hosts);
    lastUpdate = new Date();
    showStatus('updated ' + lastUpdate.toLocaleTimeString() + ', every ' + every / 1000 + ' s', false);
  }

  function showStatus(text, error) {
    var status = document.getElementById('status');
    status.textContent = text;
    status.className = error ? 'error' : '';
  }

  function poll() {
    fetch(base + '/queue-stats', { headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(render)
      .catch(function (error) {
        var since = lastUpdate ? ' (showing ' + lastUpdate.toLocaleTimeString() + ')' : '';
        showStatus('could not refresh: ' + error.message + since, true);
      })
      .then(function () { setTimeout(poll, every); });
  }

  poll();
})();
`;
