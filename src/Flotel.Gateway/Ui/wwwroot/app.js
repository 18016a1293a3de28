// Flotel web UI: four views over the gateway's own APIs (the Elasticsearch-style _search, the Prometheus HTTP API and
// the fleet admin API), no framework and no build step. Everything the page shows comes from those public endpoints,
// so what a user sees here is exactly what curl, Grafana or `flotel get devices` would get.
"use strict";

const SEVERITY = ["Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"];
const COLORS = ["#2463eb", "#d73a49", "#2c974b", "#e36209", "#6f42c1", "#0598bc", "#b08800", "#e83e8c", "#5a6270", "#17a673"];
const timers = {};

const $ = (id) => document.getElementById(id);

function setStatus(text) { $("status").textContent = text || ""; }

// ---------------------------------------------------------------- tokens
// With auth.query set to a bearer token, the page itself loads without credentials (it holds no data) and every
// request carries the token the user typed, kept in sessionStorage: gone when the tab closes, never in a cookie.
// With basic auth the browser's own prompt signs the user in and sends the credentials itself. The fleet admin API
// has its own credentials (auth.admin): the Fleet view asks for an admin token the same way, kept apart.
const TOKEN_KEYS = { query: "flotel.queryToken", admin: "flotel.adminToken" };
const TOKEN_NAMES = { query: "query token (auth.query bearerToken)", admin: "admin token (auth.admin bearerToken)" };
let tokenScope = "query";

function storedToken(scope) { return sessionStorage.getItem(TOKEN_KEYS[scope]) || ""; }

function anyToken() { return Object.keys(TOKEN_KEYS).some((scope) => storedToken(scope)); }

function showTokenForm(scope, message) {
  tokenScope = scope;
  $("token-form").hidden = false;
  $("token-message").textContent = message;
  $("token").placeholder = TOKEN_NAMES[scope].replace(/^./, (c) => c.toUpperCase());
  $("token").focus();
}

function withToken(headers, scope) {
  const token = storedToken(scope);
  return token ? { ...headers, Authorization: `Bearer ${token}` } : headers;
}

// A failed request: the message for the user, and the HTTP status and JSON body for views that tell cases apart.
class RequestError extends Error {
  constructor(message, status, body) { super(message); this.status = status; this.body = body; }
}

async function getJson(url, body, scope = "query") {
  const init = body === undefined
    ? { headers: withToken({}, scope) }
    : { method: "POST", headers: withToken({ "Content-Type": "application/json" }, scope), body: JSON.stringify(body) };
  const response = await fetch(url, init);
  if (response.status === 401 && /^bearer/i.test(response.headers.get("WWW-Authenticate") || "")) {
    const name = scope === "admin" ? "an admin token" : "a query token";
    const message = storedToken(scope) ? `The ${scope} token was refused: enter another one.` : `This gateway needs ${name}.`;
    showTokenForm(scope, message);
    throw new RequestError(`HTTP 401: ${message}`, 401, null);
  }
  const text = await response.text();
  let json;
  try { json = JSON.parse(text); } catch { throw new RequestError(`${url}: HTTP ${response.status}: ${text.slice(0, 200)}`, response.status, null); }
  if (!response.ok) {
    const reason = json.error?.reason || json.error?.root_cause?.[0]?.reason || json.error || text.slice(0, 200);
    throw new RequestError(`HTTP ${response.status}: ${typeof reason === "string" ? reason : JSON.stringify(reason)}`, response.status, json);
  }
  return json;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  return node;
}

function ago(ms) {
  if (ms === undefined || ms === null) return "—";
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}

// ---------------------------------------------------------------- routing
// #/VIEW, #/fleet/DEVICE, and parameters after "?" that fill a view's form: #/logs?q=QUERY,
// #/metrics?filter=LABELS (the Fleet view links a device's logs and metrics this way).
function show(view, rest, params) {
  for (const name of ["devices", "logs", "metrics", "fleet"]) {
    $(`view-${name}`).hidden = name !== view;
    $(`nav-${name}`).classList.toggle("active", name === view);
    clearInterval(timers[name]);
  }
  setStatus("");
  if (view === "logs" && params.has("q")) $("logs-query").value = params.get("q");
  if (view === "metrics" && params.has("filter")) { $("metrics-filter").value = params.get("filter"); $("metrics-name").value = params.get("name") || ""; }
  ({ devices: startDevices, logs: startLogs, metrics: startMetrics, fleet: () => startFleet(rest) })[view]();
}

function route() {
  const [path, query] = location.hash.replace(/^#/, "").split("?", 2);
  const [, view = "devices", ...rest] = path.split("/");
  const known = ["devices", "logs", "metrics", "fleet"].includes(view);
  show(known ? view : "devices", known ? rest.map(decodeURIComponent).join("/") : "", new URLSearchParams(query || ""));
}

// ---------------------------------------------------------------- devices
async function loadDevices() {
  const devices = new Map();
  const device = (name) => devices.get(name) || devices.set(name, { name, lastLog: null, logs: 0, logsCapped: false, lastSample: null, samples: 0 }).get(name);
  const problems = [];
  try {
    const cap = 2000;
    const result = await getJson("/_search", {
      size: cap, _source: ["@timestamp", "device_id", "logsource", "host"],
      query: { range: { "@timestamp": { gte: "now-15m" } } }, sort: [{ "@timestamp": "desc" }],
    });
    const minuteAgo = Date.now() - 60_000;
    const hits = result.hits.hits;
    for (const hit of hits) {
      const s = hit._source;
      const d = device(s.device_id || s.logsource || s.host || "(unknown)");
      const t = Date.parse(s["@timestamp"]);
      if (d.lastLog === null || t > d.lastLog) d.lastLog = t;
      if (t >= minuteAgo) d.logs++;
    }
    if (hits.length === cap) for (const d of devices.values()) d.logsCapped = true;
  } catch (e) { problems.push(`logs: ${e.message}`); }
  try {
    const end = Math.floor(Date.now() / 1000);
    const q = 'sum by (edgedeviceid) (count_over_time({edgedeviceid!=""}[1m]))';
    const result = await getJson(`/api/v1/query_range?query=${encodeURIComponent(q)}&start=${end - 900}&end=${end}&step=60`);
    for (const series of result.data.result) {
      const d = device(series.metric.edgedeviceid);
      const points = series.values.filter(([, v]) => Number(v) > 0);
      if (points.length) {
        const [t, v] = points[points.length - 1];
        d.lastSample = t * 1000;
        if (t >= end - 60) d.samples = Number(v);
      }
    }
  } catch (e) { problems.push(`metrics: ${e.message}`); }
  setStatus(problems.join("; "));
  const body = $("devices-table").tBodies[0];
  body.replaceChildren(...[...devices.values()].sort((a, b) => a.name.localeCompare(b.name)).map((d) => el("tr", { "data-device": d.name },
    el("td", {}, d.name), el("td", {}, ago(d.lastLog)), el("td", {}, (d.logsCapped ? "≥ " : "") + d.logs),
    el("td", {}, ago(d.lastSample)), el("td", {}, String(d.samples)))));
  $("devices-empty").hidden = devices.size > 0;
}

function startDevices() {
  loadDevices();
  timers.devices = setInterval(loadDevices, 10_000);
}

// ---------------------------------------------------------------- logs
// Live tail asks for events at or after the newest one shown (timestamps are often whole seconds, so "after" would
// miss lines of the same second) and skips the ids it already shows at that timestamp.
let newestShown = null;
let idsAtNewest = new Set();

function rememberNewest(hits) {
  if (!hits.length) return;
  const newest = hits[0]._source["@timestamp"];
  if (newest !== newestShown) { newestShown = newest; idsAtNewest = new Set(); }
  for (const hit of hits) if (hit._source["@timestamp"] === newestShown) idsAtNewest.add(hit._id);
}

function logQuery(since) {
  const text = $("logs-query").value.trim();
  const must = text ? [{ query_string: { query: text } }] : [];
  const range = { "@timestamp": since ? { gte: since } : { gte: $("logs-range").value } };
  return { size: 200, query: { bool: { must, filter: [{ range }] } }, sort: [{ "@timestamp": "desc" }] };
}

function eventRow(hit) {
  const s = hit._source;
  const sev = Number.isInteger(s.severity) ? s.severity : 5;
  const row = el("tr", { class: "event", title: "Click to see every field" },
    el("td", {}, (s["@timestamp"] || "").replace("T", " ").replace("Z", "")),
    el("td", {}, el("span", { class: `sev sev-${sev}` }, s.severity_label || SEVERITY[sev] || String(sev))),
    el("td", {}, s.device_id || s.logsource || s.host || ""),
    el("td", {}, s.program || ""),
    el("td", {}, s.message || ""));
  row.addEventListener("click", () => {
    if (row.nextSibling && row.nextSibling.classList?.contains("details")) { row.nextSibling.remove(); return; }
    const details = { _index: hit._index, _id: hit._id, ...s };
    row.after(el("tr", { class: "details" }, el("td", { colspan: "5" }, el("pre", {}, JSON.stringify(details, null, 2)))));
  });
  return row;
}

// The volume histogram: a date_histogram of the same query over the chosen range, about 60 bars of a round interval.
const RANGE_MS = { "now-15m": 900e3, "now-1h": 3600e3, "now-6h": 21600e3, "now-24h": 86400e3, "now-7d": 604800e3 };
const INTERVALS = [["1s", 1e3], ["5s", 5e3], ["10s", 10e3], ["15s", 15e3], ["30s", 30e3], ["1m", 60e3], ["2m", 120e3], ["5m", 300e3],
  ["10m", 600e3], ["15m", 900e3], ["30m", 1800e3], ["1h", 3600e3], ["3h", 10800e3], ["6h", 21600e3], ["12h", 43200e3]];

function volumeAggs() {
  const end = Date.now();
  const span = RANGE_MS[$("logs-range").value] || 3600e3;
  const [interval] = INTERVALS.find(([, ms]) => ms >= span / 60) || INTERVALS[INTERVALS.length - 1];
  return {
    volume: { date_histogram: { field: "@timestamp", fixed_interval: interval, min_doc_count: 0, extended_bounds: { min: end - span, max: end }, format: "epoch_millis" } },
  };
}

function renderVolume(buckets) {
  const ns = "http://www.w3.org/2000/svg";
  const W = 1000, H = 80;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  const max = Math.max(1, ...buckets.map((b) => b.doc_count));
  const width = W / Math.max(1, buckets.length);
  buckets.forEach((b, i) => {
    const h = (b.doc_count / max) * (H - 2);
    const bar = document.createElementNS(ns, "rect");
    bar.setAttribute("class", b.doc_count > 0 ? "bar" : "bar empty");
    bar.setAttribute("x", String(i * width + 0.5));
    bar.setAttribute("y", String(H - h));
    bar.setAttribute("width", String(Math.max(0.5, width - 1)));
    bar.setAttribute("height", String(h));
    const title = document.createElementNS(ns, "title");
    title.textContent = `${new Date(b.key).toISOString().replace("T", " ").replace(".000Z", "")}: ${b.doc_count}`;
    bar.append(title);
    svg.append(bar);
  });
  $("logs-volume").replaceChildren(svg);
}

async function searchLogs() {
  try {
    const result = await getJson("/_search", { ...logQuery(null), aggs: volumeAggs() });
    renderVolume(result.aggregations.volume.buckets);
    const hits = result.hits.hits;
    const total = result.hits.total;
    $("logs-summary").textContent = `${total.relation === "gte" ? "more than " : ""}${total.value} events; showing the newest ${hits.length}.`;
    $("logs-table").tBodies[0].replaceChildren(...hits.map(eventRow));
    newestShown = null;
    rememberNewest(hits);
    setStatus("");
  } catch (e) {
    $("logs-summary").replaceChildren(el("span", { class: "error" }, e.message));
  }
}

async function tailLogs() {
  if (!newestShown) return searchLogs();
  try {
    const result = await getJson("/_search", logQuery(newestShown));
    const hits = result.hits.hits.filter((h) => !(h._source["@timestamp"] === newestShown && idsAtNewest.has(h._id)));
    if (!hits.length) return;
    const body = $("logs-table").tBodies[0];
    body.prepend(...hits.map(eventRow));
    while (body.rows.length > 1000) body.deleteRow(body.rows.length - 1);
    rememberNewest(hits);
    setStatus("");
  } catch (e) { setStatus(`live tail: ${e.message}`); }
}

function startLogs() {
  searchLogs();
  if ($("logs-tail").checked) timers.logs = setInterval(tailLogs, 2000);
}

// ---------------------------------------------------------------- metrics
function selector() {
  const name = $("metrics-name").value.trim();
  const filter = $("metrics-filter").value.trim().replace(/^\{|\}$/g, "");
  if (!name && !filter) return null;
  return `${name}${filter ? `{${filter}}` : ""}`;
}

async function loadMetricNames() {
  try {
    const result = await getJson("/api/v1/label/__name__/values");
    $("metric-names").replaceChildren(...result.data.map((n) => el("option", { value: n })));
  } catch (e) { setStatus(`metric names: ${e.message}`); }
}

async function drawMetrics() {
  const expr = selector();
  if (!expr) { $("metrics-summary").textContent = "Pick a metric (and optionally label filters)."; return; }
  const span = Number($("metrics-range").value);
  const end = Math.floor(Date.now() / 1000);
  const step = Math.max(1, Math.round(span / 240));
  try {
    const result = await getJson(`/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${end - span}&end=${end}&step=${step}`);
    const series = result.data.result;
    $("metrics-summary").textContent = `${expr}: ${series.length} series, step ${step} s.`;
    renderChart(series, end - span, end);
    setStatus("");
  } catch (e) {
    $("metrics-summary").replaceChildren(el("span", { class: "error" }, e.message));
    $("chart").replaceChildren();
    $("legend").replaceChildren();
  }
}

function label(metric) {
  const parts = Object.entries(metric).filter(([k]) => k !== "__name__").map(([k, v]) => `${k}="${v}"`);
  return `${metric.__name__ || ""}{${parts.join(", ")}}`;
}

function renderChart(series, start, end) {
  const W = 1000, H = 320, L = 70, R = 10, T = 10, B = 28;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const values = series.flatMap((s) => s.values.map(([, v]) => Number(v)).filter(Number.isFinite));
  let lo = values.length ? Math.min(...values) : 0, hi = values.length ? Math.max(...values) : 1;
  if (lo === hi) { lo -= Math.abs(lo) * 0.1 || 1; hi += Math.abs(hi) * 0.1 || 1; }
  const x = (t) => L + ((t - start) / (end - start)) * (W - L - R);
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  const add = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    svg.append(n);
    return n;
  };
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    add("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#eee" });
    add("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, Number(v.toPrecision(4)).toString());
  }
  for (let i = 0; i <= 4; i++) {
    const t = start + ((end - start) * i) / 4;
    add("text", { x: x(t), y: H - 8, "text-anchor": "middle" }, new Date(t * 1000).toISOString().slice(11, 19));
  }
  series.forEach((s, i) => {
    const d = s.values.map(([t, v], j) => `${j ? "L" : "M"}${x(t).toFixed(1)},${y(Number(v)).toFixed(1)}`).join(" ");
    add("path", { d, fill: "none", stroke: COLORS[i % COLORS.length], "stroke-width": 1.5, "data-series": label(s.metric) });
  });
  $("chart").replaceChildren(svg);
  $("legend").replaceChildren(...series.map((s, i) => el("li", {}, swatch(COLORS[i % COLORS.length]), label(s.metric))));
}

// A legend colour set through the CSSOM: the Content-Security-Policy allows no inline style attribute.
function swatch(color) {
  const span = el("span", {});
  span.style.background = color;
  return span;
}

function startMetrics() {
  loadMetricNames();
  drawMetrics();
  if ($("metrics-refresh").checked) timers.metrics = setInterval(drawMetrics, 10_000);
}

// ---------------------------------------------------------------- fleet
// The admin API's device list (docs/fleet.md §7): one row per EdgeDevice, and the chosen device's panel.
const STATE_CLASS = {
  applied: "ok", running: "ok", pending: "muted", starting: "muted", outdated: "warn", offline: "warn", stopped: "warn", failed: "bad", invalid: "bad",
  progressing: "warn", halted: "bad", completed: "ok", promoted: "ok", aborted: "warn", superseded: "muted",
};

// A rollout may hold back thousands of devices and change thousands of objects: the panel names the first few.
const ROLLOUT_NAMES_SHOWN = 20;

function bytes(n) {
  if (n === null || n === undefined) return "—";
  return n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`;
}

function badge(text, cls) { return el("span", { class: `badge ${cls || STATE_CLASS[text] || "muted"}` }, text); }

function bufferFill(targets) {
  const used = targets.reduce((n, t) => n + (t.bufferBytes || 0), 0);
  const limit = targets.reduce((n, t) => n + (t.bufferLimitBytes || 0), 0);
  return limit > 0 ? `${Math.round((100 * used) / limit)} % (${bytes(used)} of ${bytes(limit)})` : targets.length ? bytes(used) : "—";
}

function lastError(device) {
  const e = device.errors[device.errors.length - 1];
  return e ? `${e.object}: ${e.message}` : "";
}

function seen(device) { return device.lastSeen ? ago(Date.parse(device.lastSeen)) : "never"; }

function fleetRow(d, selected, marks) {
  const status = el("td", {}, badge(d.status));
  if (d.duplicateIdentity) status.append(" ", badge("duplicate identity", "bad"));
  const canary = marks.canaries.get(d.name);
  if (canary) status.append(" ", badge(`canary: ${canary.result}`, "canary"));
  if (marks.held.has(d.name)) status.append(" ", badge("held", "held"));
  const workloads = el("td", {}, ...d.workloads.flatMap((w, i) => [i ? " " : "", el("span", { class: "workload" }, `${w.name} `, badge(w.state))]));
  const row = el("tr", { "data-device": d.name, "data-rollout": canary ? "canary" : marks.held.has(d.name) ? "held" : "", class: d.name === selected ? "selected" : "" },
    el("td", {}, el("a", { href: `#/fleet/${encodeURIComponent(d.name)}` }, d.name)),
    status,
    el("td", {}, seen(d)),
    el("td", {}, `${d.appliedGeneration ?? "—"} / ${d.desiredGeneration}`),
    workloads,
    el("td", {}, bufferFill(d.targets)),
    el("td", {}, String(d.targets.reduce((n, t) => n + (t.dropped || 0), 0))),
    el("td", { class: "error-text" }, lastError(d)),
    el("td", {}, d.agentVersion || "—"));
  return row;
}

function showDevice(d) {
  $("fleet-device").hidden = !d;
  if (!d) return;
  $("fleet-device-name").textContent = d.name;
  $("fleet-device-logs").href = `#/logs?q=${encodeURIComponent(`device_id:"${d.name}"`)}`;
  $("fleet-device-metrics").href = `#/metrics?filter=${encodeURIComponent(`edgedeviceid="${d.name}"`)}`;
  const facts = [["Status", d.status], ["Online", d.online ? "yes" : "no"], ["Last seen", d.lastSeen ? `${d.lastSeen} (${seen(d)})` : "never"],
    ["Generation applied / desired", `${d.appliedGeneration ?? "—"} / ${d.desiredGeneration}`], ["Agent version", d.agentVersion || "—"],
    ["Certificate expires", d.certificateExpires || "not enrolled"], ["Metrics WAL backlog", bytes(d.walBacklogBytes)],
    ["Duplicate identity", d.duplicateIdentity ? "yes: two agents report with this device's certificate" : "no"]];
  $("fleet-device-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  $("fleet-device-workloads").tBodies[0].replaceChildren(...d.workloads.map((w) =>
    el("tr", { "data-workload": w.name }, el("td", {}, w.name), el("td", {}, badge(w.state)), el("td", {}, w.message || ""))));
  $("fleet-device-targets").tBodies[0].replaceChildren(...d.targets.map((t) =>
    el("tr", { "data-target": t.name }, el("td", {}, t.name), el("td", {}, bytes(t.bufferBytes)), el("td", {}, bytes(t.bufferLimitBytes)),
      el("td", {}, bufferFill([t])), el("td", {}, String(t.dropped ?? 0)))));
  $("fleet-device-errors").replaceChildren(...(d.errors.length ? d.errors.map((e) => el("li", {}, `${e.object}: ${e.message}`)) : [el("li", { class: "empty" }, "none")]));
}

function firstNames(names) {
  const shown = names.slice(0, ROLLOUT_NAMES_SHOWN).join(", ");
  return names.length > ROLLOUT_NAMES_SHOWN ? `${shown} … and ${names.length - ROLLOUT_NAMES_SHOWN} more` : shown || "none";
}

// The latest staged rollout (docs/fleet.md §3.1, GET /api/fleet/rollout), read-only: promote and abort stay on the CLI
// and the admin API. Returns the devices to mark in the list while the rollout holds them (progressing or halted).
function showRollout(r, devices) {
  const none = { canaries: new Map(), held: new Set() };
  $("fleet-rollout").hidden = !r || r.state === "none";
  if (!r || r.state === "none") return none;
  $("fleet-rollout-id").textContent = String(r.id);
  $("fleet-rollout-state").replaceChildren(badge(r.state));
  $("fleet-rollout-reason").textContent = r.reason || "";
  $("fleet-rollout-reason").className = r.state === "halted" ? "error-text" : "hint";
  const applied = r.canaries.filter((c) => c.result === "applied").length;
  const failed = r.canaries.filter((c) => c.result === "failed").length;
  const facts = [["Canaries", `${r.canaries.length} (${r.canary}): ${applied} applied, ${failed} failed, ${r.canaries.length - applied - failed} pending`],
    ["Held devices", `${r.held.length}${r.held.length ? ": " + firstNames(r.held) : ""}`], ["Objects changed", firstNames(r.objects)],
    ["Started", r.started], ["Ended", r.ended || "—"], ["Canary timeout", `${r.timeoutSeconds} s`]];
  $("fleet-rollout-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  const byName = new Map(devices.map((d) => [d.name, d]));
  $("fleet-rollout-canaries").tBodies[0].replaceChildren(...r.canaries.map((c) =>
    el("tr", { "data-canary": c.name },
      el("td", {}, el("a", { href: `#/fleet/${encodeURIComponent(c.name)}` }, c.name)),
      el("td", {}, badge(c.result)),
      el("td", {}, `${byName.get(c.name)?.appliedGeneration ?? "—"} / ${c.generation}`),
      el("td", { class: "error-text" }, c.errors.join("; ")))));
  if (r.state !== "progressing" && r.state !== "halted") return none;
  return { canaries: new Map(r.canaries.map((c) => [c.name, c])), held: new Set(r.held) };
}

async function loadFleet(selected) {
  try {
    const [devices, rollout] = await Promise.all([getJson("/api/fleet/devices", undefined, "admin"), getJson("/api/fleet/rollout", undefined, "admin")]);
    $("fleet-off").hidden = true;
    $("fleet-table").hidden = false;
    devices.sort((a, b) => a.name.localeCompare(b.name));
    const marks = showRollout(rollout, devices);
    $("fleet-table").tBodies[0].replaceChildren(...devices.map((d) => fleetRow(d, selected, marks)));
    $("fleet-empty").hidden = devices.length > 0;
    const device = devices.find((d) => d.name === selected);
    showDevice(device);
    setStatus(selected && !device ? `no device ${selected} in the fleet` : "");
  } catch (e) {
    if (e.status === 404 && e.body?.fleetEnabled === false) {
      $("fleet-off").hidden = false;
      $("fleet-off").textContent = "The fleet is off on this gateway: set fleet.enabled: true in its configuration (docs/fleet.md) to enrol devices and see them here.";
      $("fleet-table").hidden = true;
      $("fleet-empty").hidden = true;
      showRollout(null, []);
      showDevice(null);
      return;
    }
    setStatus(`fleet: ${e.message}`);
  }
}

function startFleet(selected) {
  loadFleet(selected);
  timers.fleet = setInterval(() => loadFleet(selected), 10_000);
}

// ---------------------------------------------------------------- wiring
$("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem(TOKEN_KEYS[tokenScope], $("token").value.trim());
  $("token").value = "";
  $("token-form").hidden = true;
  $("token-forget").hidden = !anyToken();
  route();
});
$("token-forget").addEventListener("click", () => {
  for (const key of Object.values(TOKEN_KEYS)) sessionStorage.removeItem(key);
  $("token-forget").hidden = true;
  route();
});
$("token-forget").hidden = !anyToken();
$("logs-form").addEventListener("submit", (e) => { e.preventDefault(); clearInterval(timers.logs); startLogs(); });
$("logs-tail").addEventListener("change", () => { clearInterval(timers.logs); if ($("logs-tail").checked) timers.logs = setInterval(tailLogs, 2000); });
$("metrics-form").addEventListener("submit", (e) => { e.preventDefault(); clearInterval(timers.metrics); startMetrics(); });
$("metrics-refresh").addEventListener("change", () => { clearInterval(timers.metrics); if ($("metrics-refresh").checked) timers.metrics = setInterval(drawMetrics, 10_000); });
window.addEventListener("hashchange", route);
route();
