// The fleet page's HTML and CSS, kept as a string in a module so that `tsc`
// carries it into dist/ with the rest and no front-end build step exists. The
// script (script.ts) is served beside it: helmet's CSP allows no inline script.
export const FLEET_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>jobvisor fleet</title>
<link rel="icon" href="data:,">
<style>
  :root { --ok: #1a7f37; --warn: #b35900; --bad: #c62828; --muted: #667; --line: #dde; font: 14px/1.4 system-ui, sans-serif; }
  body { margin: 1.5rem; color: #223; }
  header { display: flex; align-items: baseline; gap: 1.5rem; }
  h1 { font-size: 1.4rem; margin: 0; }
  h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
  h3 { font-size: 1rem; margin: 1rem 0 .3rem; }
  #status { color: var(--muted); margin: 0; }
  #status.error { color: var(--bad); }
  table { border-collapse: collapse; margin-bottom: .5rem; }
  th, td { border-bottom: 1px solid var(--line); padding: .25rem .6rem; text-align: right; white-space: nowrap; }
  th { font-weight: 600; color: var(--muted); }
  th:first-child, td:first-child, td.text, th.text { text-align: left; }
  th[colspan] { text-align: center; }
  td.zero { color: #aab; }
  .badge { display: inline-block; border-radius: .6rem; padding: 0 .5rem; margin-right: .3rem; font-size: .8rem; color: #fff; background: var(--muted); }
  .badge.bad { background: var(--bad); }
  .badge.warn { background: var(--warn); }
  .badge.ok { background: var(--ok); }
  .bar { position: relative; display: inline-block; vertical-align: middle; width: 10rem; height: .8rem; background: #eef; border-radius: .2rem; overflow: hidden; }
  .bar .fill { position: absolute; inset: 0 auto 0 0; background: var(--ok); }
  .bar.over .fill { background: var(--warn); }
  .bar.ceiling .fill { background: var(--bad); }
  .bar .budget { position: absolute; top: 0; bottom: 0; width: 2px; background: #223; }
  .memory-text { margin-left: .5rem; color: var(--muted); font-size: .85rem; }
  .supervisors { color: var(--muted); font-weight: normal; font-size: .85rem; margin-left: .5rem; }
</style>
<script src="fleet/fleet.js" defer></script>
</head>
<body>
<header>
  <h1>jobvisor fleet</h1>
  <p id="status" role="status">loading…</p>
</header>
<section aria-labelledby="queues-title">
  <h2 id="queues-title">Queues</h2>
  <table id="queues">
    <thead>
      <tr><th rowspan="2">queue</th><th rowspan="2" class="text">status</th><th rowspan="2">live workers</th>
        <th colspan="7">jobs</th><th colspan="2">last minute</th><th colspan="6">restarts by reason</th><th rowspan="2">budget / ceiling</th></tr>
      <tr><th>waiting</th><th>delayed</th><th>active</th><th title="active, held by no live worker">orphaned</th><th>completed</th><th>failed</th><th>cancelled</th>
        <th>completed</th><th>failed</th>
        <th>memory</th><th>max_jobs</th><th>crash</th><th>heartbeat</th><th>pressure</th><th>timeout</th></tr>
    </thead>
    <tbody></tbody>
  </table>
</section>
<section aria-labelledby="hosts-title">
  <h2 id="hosts-title">Hosts</h2>
  <div id="hosts"></div>
</section>
</body>
</html>
`;
