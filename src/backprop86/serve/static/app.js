// backprop86 serve: the page. Plain JavaScript, drawn on canvases; it talks to its own
// server only (one WebSocket, a few JSON requests). The training happens on the server,
// in the library's Trainer; this script sends what the user asks and draws the frames.
"use strict";

const $ = (id) => document.getElementById(id);
const POS = [31, 111, 180];   // blue: positive weights, target/output 1
const NEG = [224, 123, 26];   // orange: negative weights, target/output 0
const FORM = ["n", "noise", "test", "data-seed", "hidden", "activation", "bias", "lr",
              "momentum", "grain", "error", "seed", "max-sweeps", "target"];

// Everything the page knows, kept in one object (the tests read it too).
const state = window.bp86 = {
  options: null, socket: null, ready: null, frame: null, curve: [], pattern: 0,
  trace: null, traceSection: 0, seeds: null, playing: false, errors: [], uploads: {},
  frames: 0,
};

// ------------------------------------------------------------------ talking to the server

function send(message) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify(message));
  }
}

function connect() {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  state.socket = ws;
  ws.onopen = () => { status("connected"); applySetup(setupFromHash() || defaultSetup()); };
  ws.onclose = () => { status("disconnected from the server: reload the page when it runs again"); setRunning(false); };
  ws.onmessage = (event) => receive(JSON.parse(event.data));
}

function receive(m) {
  switch (m.type) {
    case "hello": break;
    case "ready": onReady(m); break;
    case "frame": onFrame(m); break;
    case "state": state.playing = m.playing; showPlaying(); break;
    case "trace": onTrace(m); break;
    case "seeds": onSeeds(m); break;
    case "seeds_stopped": $("seeds-stop").disabled = true; $("seeds-run").disabled = false; break;
    case "export": onExport(m); break;
    case "note": message(m.message, false); break;
    case "error": state.errors.push(m.message); message(m.message, true);
      if (m.request === "seeds") { $("seeds-run").disabled = false; $("seeds-stop").disabled = true; }
      break;
    default: break;
  }
}

function status(text) { $("status").textContent = text; }

function message(text, isError) {
  const box = $("message");
  box.hidden = !text;
  box.textContent = text || "";
  box.style.color = isError ? "" : "var(--muted)";
}

// ------------------------------------------------------------------ the form and the URL

function defaultSetup() { return { task: "xor" }; }

function setupFromHash() {
  if (location.hash.length < 2) return null;
  const q = new URLSearchParams(location.hash.slice(1));
  if (!q.get("task")) return null;
  const s = {};
  for (const [k, v] of q) {
    if (k === "task" || k === "activation" || k === "grain" || k === "error" || k === "target") s[k] = v;
    else if (k === "hidden") s[k] = v === "" ? [] : v.split(",").map(Number);
    else if (k === "bias") s[k] = v === "true";
    else s[k] = Number(v);
  }
  return s;
}

function setupToHash(s) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(s)) q.set(k, Array.isArray(v) ? v.join(",") : String(v));
  history.replaceState(null, "", "#" + q.toString());
}

const KEY_OF = { "data-seed": "data_seed", "max-sweeps": "max_sweeps" };
const keyOf = (id) => KEY_OF[id] || id;

function fillForm(s) {
  $("task").value = s.task;
  for (const id of FORM) {
    const k = keyOf(id), el = $(id);
    if (!(k in s)) continue;
    if (el.type === "checkbox") el.checked = !!s[k];
    else if (Array.isArray(s[k])) el.value = s[k].join(",");
    else el.value = s[k];
  }
  showTaskSettings(s.task);
}

function readForm() {
  const task = $("task").value;
  const s = { task };
  const kind = taskKind(task);
  for (const id of FORM) {
    const k = keyOf(id), el = $(id);
    if (el.disabled || el.closest("[hidden]")) continue;
    if (kind !== "points" && ["n", "noise", "data-seed"].includes(id)) continue;
    if (kind === "experiment" && id === "test") continue;
    if (kind !== "csv" && id === "target") continue;
    if (el.type === "checkbox") s[k] = el.checked;
    else if (id === "hidden") {
      const text = el.value.trim();
      s[k] = text === "" ? [] : text.split(",").map((x) => Number(x.trim()));
    } else if (el.tagName === "SELECT" || el.type === "text") { if (el.value !== "") s[k] = el.value; }
    else if (el.value !== "") s[k] = Number(el.value);
  }
  return s;
}

function taskKind(task) {
  if (task.startsWith("csv:")) return "csv";
  if (state.options && state.options.point_sets.some((p) => p.name === task)) return "points";
  return "experiment";
}

function showTaskSettings(task) {
  const kind = taskKind(task);
  $("point-settings").hidden = kind === "experiment";
  for (const id of ["n", "noise", "data-seed"]) $(id).closest("label").hidden = kind !== "points";
  $("target").closest("label").hidden = kind !== "csv";
}

async function describe(task) {
  const r = await fetch(`/api/describe?task=${encodeURIComponent(task)}`);
  const body = await r.json();
  if (!r.ok) { message(body.error, true); return null; }
  return body;
}

async function chooseTask() {
  const task = $("task").value;
  const s = await describe(task);
  if (!s) return;
  for (const id of ["hidden", "activation", "bias"]) $(id).disabled = !(keyOf(id) in s);
  fillForm(s);
}

function applySetup(s) {
  message("", false);
  fillForm(s);
  if (!("hidden" in s) && taskKind(s.task) === "experiment") {
    describe(s.task).then((d) => {
      if (!d) return;
      for (const id of ["hidden", "activation", "bias"]) $(id).disabled = !(keyOf(id) in d);
      fillForm({ ...d, ...s });
    });
  }
  send({ type: "setup", setup: s });
}

// ------------------------------------------------------------------ a run set up, a frame

function setRunning(on) {
  for (const id of ["play", "step", "reset", "export-toml", "export-npz", "export-python", "seeds-run", "trace-show"]) {
    $(id).disabled = !on;
  }
}

function onReady(m) {
  state.ready = m; state.curve = []; state.pattern = 0; state.frame = null; state.trace = null;
  state.playing = false; state.frames = 0;
  setupToHash(m.setup);
  $("task-title").textContent = m.title;
  $("report-name").textContent = `(${m.report})`;
  setRunning(true);
  showPlaying();
  $("surface-figure").hidden = !m.points;
  $("net-notes").textContent = netNotes(m.network);
  $("trace").innerHTML = ""; $("trace-settings").textContent = "";
  $("trace-section").textContent = "click a pattern, then “Show its update”";
  $("trace-prev").disabled = $("trace-next").disabled = true;
  $("claims").innerHTML = "";
  $("record-note").textContent = m.has_claims
    ? `${m.name}: the published claims beside what this run measures (so far, while it runs).`
    : "This task has no published claims: pick one of the shipped experiments to see them.";
  buildPatterns(m.patterns);
}

function onFrame(f) {
  state.frame = f; state.frames += 1;
  for (const p of f.curve) state.curve.push(p);
  state.pattern = f.pattern;
  const r = state.ready;
  let text = `sweep ${f.sweep} of at most ${r.max_sweeps} · ${r.report} error ${fmt(f.error)}`;
  text += ` · ${f.right}/${r.patterns.count} patterns right`;
  if (f.test_count) text += ` · held out ${f.test_right}/${f.test_count} right`;
  if (f.solved) text += " · solved";
  if (f.stopped) text += " · stopped (criterion met)";
  if (f.diverged) text += " · diverged";
  if (f.finished && !f.stopped && !f.diverged) text += " · sweep limit reached";
  status(text);
  if (f.notes && f.notes.length) message(f.notes[f.notes.length - 1], true);
  state.playing = f.playing; showPlaying();
  drawNetwork(); drawHistory(); drawCurve(); drawSurface(); drawUnits(); fillPatterns(); drawCodes();
  if (f.claims) showClaims(f.claims, $("claims"));
}

function showPlaying() {
  const b = $("play");
  b.textContent = state.playing ? "❚❚ Pause" : "▶ Play";
  b.classList.toggle("playing", state.playing);
}

function fmt(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v !== "number") return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}

// ------------------------------------------------------------------ colours

function mix(a, b, t) { return a.map((x, i) => Math.round(x + (b[i] - x) * t)); }
function rgb(c, alpha = 1) { return `rgba(${c[0]},${c[1]},${c[2]},${alpha})`; }

// value in [0, 1] → orange (0) · white (0.5) · blue (1)
function diverging(t) {
  const v = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0.5));
  return v < 0.5 ? mix(NEG, [255, 255, 255], v / 0.5) : mix([255, 255, 255], POS, (v - 0.5) / 0.5);
}

// a unit's activity mapped to [0, 1] by its activation's range
function unitScale(activation, y, top) {
  if (y === null) return 0.5;
  if (activation === "tanh") return (y + 1) / 2;
  if (activation === "relu" || activation === "linear" || activation === null) {
    return 0.5 + 0.5 * y / (top || 1);
  }
  return y;  // logistic, softmax: already in [0, 1]
}

// ------------------------------------------------------------------ the network

// a projection back to its own group or an earlier one (a recurrent net's loop)
function isBack(net, p) {
  const order = net.groups.map((g) => g.name);
  return order.indexOf(p.source) >= order.indexOf(p.target);
}

function layers(net) {
  const depth = {};
  for (const g of net.groups) depth[g.name] = 0;
  for (const g of net.groups) {
    for (const p of net.projections) {
      if (p.target === g.name && !isBack(net, p)) depth[g.name] = Math.max(depth[g.name], depth[p.source] + 1);
    }
  }
  const columns = [];
  for (const g of net.groups) (columns[depth[g.name]] = columns[depth[g.name]] || []).push(g);
  return columns;
}

function drawNetwork() {
  const c = $("net"), ctx = c.getContext("2d"), f = state.frame, net = state.ready.network;
  ctx.clearRect(0, 0, c.width, c.height);
  const cols = layers(net), at = {};
  const dx = c.width / cols.length;
  cols.forEach((groups, i) => {
    const units = groups.reduce((n, g) => n + g.size, 0) + groups.length - 1;
    const dy = (c.height - 30) / Math.max(units, 1);
    let k = 0;
    for (const g of groups) {
      at[g.name] = [];
      for (let j = 0; j < g.size; j++, k++) at[g.name].push([dx * (i + 0.5), 22 + dy * (k + 0.5)]);
      k++;
    }
  });
  let wmax = 1e-9;
  for (const w of Object.values(f.weights)) for (const row of w) for (const v of row) wmax = Math.max(wmax, Math.abs(v || 0));
  for (const p of net.projections) {
    const w = f.weights[p.param];
    if (!w) continue;
    if (isBack(net, p)) { drawLoop(ctx, p, at, w, wmax); continue; }
    at[p.source].forEach((a, i) => at[p.target].forEach((b, j) => {
      const v = w[i][j] || 0;
      ctx.strokeStyle = rgb(v >= 0 ? POS : NEG, 0.25 + 0.75 * Math.abs(v) / wmax);
      ctx.lineWidth = 0.3 + 5 * Math.abs(v) / wmax;
      ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke();
    }));
  }
  const r = Math.max(3, Math.min(12, (c.height - 30) / (2.4 * Math.max(...net.groups.map((g) => g.size)))));
  for (const g of net.groups) {
    const ys = f.activity[g.name] || [];
    const top = Math.max(1e-9, ...ys.map((v) => Math.abs(v || 0)));
    at[g.name].forEach((a, j) => {
      ctx.fillStyle = rgb(diverging(unitScale(g.activation, ys[j], top)));
      ctx.strokeStyle = "#333"; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.arc(a[0], a[1], r, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
    });
    const first = at[g.name][0];
    ctx.fillStyle = "#444"; ctx.font = "11px system-ui"; ctx.textAlign = "center";
    ctx.fillText(`${g.name} (${g.activation || "input"})`, first[0], 12);
  }
  $("pattern-name").textContent = state.ready.patterns.labels[f.pattern] || String(f.pattern + 1);
}

// a recurrent projection as one loop: from the target's column back round to the
// source's (its own column for a self-loop), coloured by its mean weight, with its delay
function drawLoop(ctx, p, at, w, wmax) {
  let sum = 0, n = 0;
  for (const row of w) for (const v of row) if (v) { sum += v; n += 1; }
  const mean = n ? sum / n : 0;
  const s = at[p.source], t = at[p.target];
  const top = Math.min(s[0][1], t[0][1]) - 4, x0 = t[0][0] + 14, x1 = s[0][0] + 14;
  const bottom = Math.max(s[s.length - 1][1], t[t.length - 1][1]) + 4;
  ctx.strokeStyle = rgb(mean >= 0 ? POS : NEG, 0.5 + 0.5 * Math.abs(mean) / wmax);
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  if (p.source === p.target) {  // a self-loop: an arc beside the group
    const r = Math.max(10, (bottom - top) / 2), cy = (top + bottom) / 2;
    ctx.ellipse(x0, cy, 16, r, 0, -Math.PI / 2, Math.PI / 2);
  } else {
    ctx.moveTo(x0, bottom); ctx.quadraticCurveTo((x0 + x1) / 2, bottom + 24, x1, bottom);
  }
  ctx.stroke();
}

// a recurrent net's steps and delays in words, under its drawing
function netNotes(net) {
  if (!net.recurrent) return "";
  const loops = net.projections.filter((p) => isBack(net, p)).map((p) => `${p.source === p.target ? "↻" : "↶"} ${p.source}→${p.target}`);
  const later = net.projections.filter((p) => p.delay && !isBack(net, p)).map((p) => `${p.source}→${p.target}`);
  let text = `runs ${net.steps} step${net.steps > 1 ? "s" : ""}; units as at the last step (t=${net.steps})`;
  if (loops.length) text += `; recurrent (drawn as loops): ${loops.join(", ")}`;
  if (later.length) text += `; from the step before (delay 1): ${later.join(", ")}`;
  return text;
}

// ------------------------------------------------------------------ activity over time

// a recurrent net's chosen case: a panel per group, its units down, steps 0 … T across;
// clamped steps framed blue, a target step's units ringed (filled: target on)
function drawHistory() {
  const net = state.ready.network, f = state.frame, c = $("history");
  $("history-figure").hidden = !net.recurrent || !f.history;
  if (!net.recurrent || !f.history) return;
  const ctx = c.getContext("2d"), T = net.steps;
  $("history-name").textContent = state.ready.patterns.labels[f.pattern] || String(f.pattern + 1);
  const units = net.groups.reduce((n, g) => n + g.size, 0);
  const gap = 22, L = 90, cw = Math.max(8, Math.min(60, (c.width - L - 10) / (T + 1)));
  const rh = Math.max(3, Math.min(20, 560 / units));
  const height = Math.round(20 + units * rh + gap * net.groups.length);
  if (c.height !== height) c.height = height;  // as tall as the groups need
  ctx.clearRect(0, 0, c.width, c.height);
  ctx.font = "10px system-ui";
  ctx.fillStyle = "#444"; ctx.textAlign = "center";
  for (let t = 0; t <= T; t++) ctx.fillText(`t=${t}`, L + cw * (t + 0.5), 12);
  const targets = state.ready.patterns.targets[f.pattern] || [];
  const slots = [];  // the target columns: output groups at their target steps, step by step
  for (let t = 1; t <= T; t++) for (const g of net.groups) if (g.targets.includes(t)) slots.push([g.name, t]);
  let y = 18;
  for (const g of net.groups) {
    const h = f.history[g.name];
    const top = Math.max(1e-9, ...h.flat().map((v) => Math.abs(v || 0)));
    ctx.fillStyle = "#444"; ctx.textAlign = "right";
    ctx.fillText(`${g.name} (${g.size})`, L - 6, y + Math.min(g.size * rh, 12));
    for (let t = 0; t <= T; t++) {
      for (let j = 0; j < g.size; j++) {
        ctx.fillStyle = rgb(diverging(unitScale(g.activation, h[t][j], top)));
        ctx.fillRect(L + cw * t, y + rh * j, cw - 1, Math.max(1, rh - 0.5));
      }
      if (g.clamped.includes(t)) {
        ctx.strokeStyle = rgb(POS); ctx.lineWidth = 2;
        ctx.strokeRect(L + cw * t, y, cw - 1, rh * g.size);
      }
      if (g.targets.includes(t)) {
        let start = 0;
        for (const [name, s] of slots) {
          if (name === g.name && s === t) break;
          start += net.groups.find((x) => x.name === name).size;
        }
        for (let j = 0; j < g.size; j++) {
          const d = targets[start + j];
          if (d === null || d === undefined) continue;
          ctx.strokeStyle = rgb(NEG); ctx.fillStyle = rgb(NEG); ctx.lineWidth = 1.2;
          ctx.beginPath();
          ctx.arc(L + cw * (t + 0.5), y + rh * (j + 0.5), Math.max(1.5, Math.min(4, rh / 3)), 0, 2 * Math.PI);
          if (d >= 0.5) ctx.fill(); else ctx.stroke();
        }
      }
    }
    y += g.size * rh + gap;
  }
}

// ------------------------------------------------------------------ the error curve

function drawCurve() {
  const c = $("curve"), ctx = c.getContext("2d"), pts = state.curve;
  ctx.clearRect(0, 0, c.width, c.height);
  const L = 48, B = 26, W = c.width - L - 10, H = c.height - B - 10;
  ctx.strokeStyle = "#888"; ctx.lineWidth = 1;
  ctx.beginPath(); ctx.moveTo(L, 10); ctx.lineTo(L, 10 + H); ctx.lineTo(L + W, 10 + H); ctx.stroke();
  ctx.fillStyle = "#555"; ctx.font = "11px system-ui";
  if (!pts.length) { ctx.fillText("press Play or Step", L + 10, 30); return; }
  const xmax = Math.max(pts[pts.length - 1][0], 1);
  const ymax = Math.max(...pts.map((p) => p[1] || 0), 1e-9);
  ctx.textAlign = "right"; ctx.fillText(fmt(ymax), L - 4, 14); ctx.fillText("0", L - 4, 10 + H);
  ctx.textAlign = "center"; ctx.fillText(`sweep ${xmax}`, L + W - 30, 10 + H + 16);
  ctx.strokeStyle = rgb(POS); ctx.lineWidth = 1.5; ctx.beginPath();
  pts.forEach((p, i) => {
    const x = L + W * p[0] / xmax, y = 10 + H * (1 - (p[1] || 0) / ymax);
    if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  });
  ctx.stroke();
}

// ------------------------------------------------------------------ decision surfaces

function paintGrid(canvas, values, size, toUnit) {
  const img = new ImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    const col = diverging(toUnit(values[i]));
    img.data[4 * i] = col[0]; img.data[4 * i + 1] = col[1]; img.data[4 * i + 2] = col[2]; img.data[4 * i + 3] = 255;
  }
  const off = document.createElement("canvas");
  off.width = off.height = size;
  off.getContext("2d").putImageData(img, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
}

function drawSurface() {
  const f = state.frame, s = f.surface, pts = state.ready.points;
  if (!s || !pts) return;
  const c = $("surface"), ctx = c.getContext("2d");
  paintGrid(c, s.output, s.size, (v) => v);
  const [x0, x1, y0, y1] = s.range;
  const place = (p) => [c.width * (p[0] - x0) / (x1 - x0), c.height * (1 - (p[1] - y0) / (y1 - y0))];
  // training points filled with their class's colour, held-out ones white with a coloured ring;
  // a dark edge keeps both visible on a surface of the same colour
  const dot = (p, hollow) => {
    const [x, y] = place(p), colour = rgb(p[2] >= 0.5 ? POS : NEG);
    ctx.beginPath(); ctx.arc(x, y, hollow ? 4 : 3.5, 0, 2 * Math.PI);
    ctx.fillStyle = hollow ? "#fff" : colour; ctx.fill();
    ctx.strokeStyle = "#222"; ctx.lineWidth = 1; ctx.stroke();
    if (hollow) {
      ctx.beginPath(); ctx.arc(x, y, 2.5, 0, 2 * Math.PI);
      ctx.strokeStyle = colour; ctx.lineWidth = 2; ctx.stroke();
    }
  };
  for (const p of pts.train) dot(p, false);
  for (const p of pts.test || []) dot(p, true);
}

function drawUnits() {
  const box = $("units"), f = state.frame, s = f.surface;
  $("units-section").hidden = !s || !s.hidden.length;
  if (!s) return;
  if (box.children.length !== s.hidden.length) {
    box.innerHTML = "";
    for (const u of s.hidden) {
      const fig = document.createElement("figure");
      const cap = document.createElement("figcaption");
      cap.textContent = u.unit;
      const c = document.createElement("canvas");
      c.width = c.height = 84;
      fig.append(c, cap);
      box.append(fig);
    }
  }
  const acts = {};
  for (const g of state.ready.network.groups) acts[g.name] = g.activation;
  s.hidden.forEach((u, i) => {
    const group = u.unit.slice(0, u.unit.indexOf("["));
    const top = Math.max(1e-9, ...u.values.map((v) => Math.abs(v || 0)));
    paintGrid(box.children[i].querySelector("canvas"), u.values, s.hidden_size,
              (v) => unitScale(acts[group], v, top));
  });
}

// ------------------------------------------------------------------ patterns and codes

function buildPatterns(p) {
  const t = $("patterns");
  t.innerHTML = "";
  const head = t.insertRow();
  const last = state.ready.network.recurrent ? ` (t=${state.ready.network.steps})` : "";
  for (const h of ["#", "pattern", "target", "output", `hidden code${last}`]) {
    const th = document.createElement("th"); th.textContent = h; head.append(th);
  }
  p.labels.forEach((label, i) => {
    const row = t.insertRow();
    row.dataset.index = i;
    for (const v of [i + 1, label, p.targets[i].map(fmt).join(" "), "", ""]) row.insertCell().textContent = v;
    row.addEventListener("click", () => choosePattern(i));
  });
  if (p.count > p.labels.length) {
    const row = t.insertRow(); const cell = row.insertCell(); cell.colSpan = 5;
    cell.textContent = `… and ${p.count - p.labels.length} more (the first ${p.labels.length} are listed)`;
  }
}

function fillPatterns() {
  const f = state.frame, p = state.ready.patterns, mid = 0.5;
  const rows = $("patterns").rows;
  for (let i = 0; i < f.outputs.length; i++) {
    const row = rows[i + 1];
    if (!row) break;
    const out = f.outputs[i], target = p.targets[i];
    const lo = Math.min(...target), hi = Math.max(...target);
    const m = lo === hi ? mid : (lo + hi) / 2;
    const right = out.every((y, k) => (y > m) === (target[k] > m) || (lo === hi && Math.abs(y - target[k]) < 0.5));
    row.cells[3].textContent = out.map(fmt).join(" ");
    row.cells[3].className = right ? "num right" : "num wrong";
    const codes = Object.values(f.codes).map((c) => c[i].map((v) => fmt(v)).join(" "));
    row.cells[4].textContent = codes.join(" | ");
    row.classList.toggle("chosen", i === f.pattern);
  }
}

function drawCodes() {
  const c = $("codes"), ctx = c.getContext("2d"), f = state.frame;
  const groups = Object.keys(f.codes);
  const first = groups.length ? f.codes[groups[0]] : null;
  const n = first && first.length ? first[0].length : 0;
  $("codes-figure").hidden = !(n === 2 || n === 3);
  if (!(n === 2 || n === 3)) return;
  ctx.clearRect(0, 0, c.width, c.height);
  const act = state.ready.network.groups.find((g) => g.name === groups[0]).activation;
  const lo = act === "tanh" ? -1 : 0, span = act === "tanh" ? 2 : 1;
  const P = 20, S = c.width - 2 * P;
  ctx.strokeStyle = "#aaa"; ctx.strokeRect(P, P, S, S);
  ctx.fillStyle = "#555"; ctx.font = "11px system-ui";
  ctx.fillText(`${groups[0]}[1] →`, P, c.height - 5);
  ctx.save(); ctx.translate(12, P + S); ctx.rotate(-Math.PI / 2); ctx.fillText(`${groups[0]}[2] →`, 0, 0); ctx.restore();
  const targets = state.ready.patterns.targets;
  first.forEach((code, i) => {
    // a third unit shifts the point up and right (an oblique view of the cube)
    const z = n === 3 ? ((code[2] || 0) - lo) / span : 0;
    const x = P + S * (((code[0] || 0) - lo) / span * (n === 3 ? 0.75 : 1) + 0.25 * z);
    const y = P + S * (1 - (((code[1] || 0) - lo) / span * (n === 3 ? 0.75 : 1) + 0.25 * z));
    const t = targets[i] ? targets[i][0] : 0.5;
    ctx.fillStyle = rgb(t >= 0.5 ? POS : NEG);
    ctx.beginPath(); ctx.arc(x, y, 4, 0, 2 * Math.PI); ctx.fill();
    if (first.length <= 16) { ctx.fillStyle = "#222"; ctx.fillText(state.ready.patterns.labels[i], x + 6, y - 4); }
  });
}

function choosePattern(i) {
  state.pattern = i;
  $("trace-name").textContent = state.ready.patterns.labels[i];
  send({ type: "pattern", index: i });
}

// ------------------------------------------------------------------ show your working

function onTrace(m) {
  state.trace = m; state.traceSection = 0;
  $("trace-name").textContent = `${m.label} (after sweep ${m.sweep})`;
  $("trace-settings").textContent = m.settings.join(" · ");
  showTraceSection();
}

function showTraceSection() {
  const m = state.trace, name = m.sections[state.traceSection];
  $("trace-section").textContent = `${state.traceSection + 1}/${m.sections.length}: ${name}`;
  $("trace-prev").disabled = state.traceSection === 0;
  $("trace-next").disabled = state.traceSection === m.sections.length - 1;
  const t = $("trace");
  t.innerHTML = "";
  const head = t.insertRow();
  for (const h of ["eq.", "quantity", "unit / weight", "value", "working"]) {
    const th = document.createElement("th"); th.textContent = h; head.append(th);
  }
  for (const r of m.rows.filter((r) => r.section === name)) {
    const row = t.insertRow();
    row.insertCell().textContent = r.equation;
    row.insertCell().textContent = r.quantity;
    row.insertCell().textContent = r.unit;
    const v = row.insertCell(); v.textContent = fmt(r.value); v.className = "num";
    const w = row.insertCell(); w.textContent = r.working; w.className = "working";
  }
  const more = m.omitted[name];
  if (more) {
    const row = t.insertRow(); const cell = row.insertCell(); cell.colSpan = 5;
    cell.textContent = `… and ${more} more rows (backprop86 trace prints them all)`;
  }
}

// ------------------------------------------------------------------ many seeds

function onSeeds(m) {
  state.seeds = m;
  const ci = m.ci95.map((x) => (100 * x).toFixed(1) + "%").join("–");
  const med = m.median_sweeps_to_solve === null ? "–" : fmt(m.median_sweeps_to_solve);
  $("seeds-summary").textContent =
    `${m.seeds} seeds (${m.first_seed}–${m.first_seed + m.seeds - 1}), sweep ${m.sweep} of ${m.max_sweeps}: ` +
    `solved ${m.solved}/${m.seeds} = ${(100 * m.rate).toFixed(1)}% (95% interval ${ci}); ` +
    `median sweeps to solve ${med}; ${m.diverged} diverged; ${m.seconds.toFixed(1)} s` +
    (m.finished ? " · finished" : " · running");
  drawHistogram(m);
  const t = $("failures");
  t.innerHTML = "";
  const head = t.insertRow();
  for (const h of ["not solved (so far)", "seeds"]) { const th = document.createElement("th"); th.textContent = h; head.append(th); }
  for (const [kind, count] of Object.entries(m.failures)) {
    const row = t.insertRow(); row.insertCell().textContent = kind;
    const c = row.insertCell(); c.textContent = count; c.className = "num";
  }
  if (m.claims && m.claims.length) showClaims(m.claims, $("claims"), `${m.seeds} seeds`);
  if (m.finished) { $("seeds-run").disabled = false; $("seeds-stop").disabled = true; }
}

function drawHistogram(m) {
  const c = $("seeds-hist"), ctx = c.getContext("2d");
  ctx.clearRect(0, 0, c.width, c.height);
  const bins = 30, top = Math.max(m.max_sweeps, 1), counts = new Array(bins).fill(0);
  for (const t of m.times) counts[Math.min(bins - 1, Math.floor(bins * (t - 1) / top))] += 1;
  const most = Math.max(...counts, 1), W = c.width - 20, H = c.height - 30;
  ctx.fillStyle = rgb(POS);
  counts.forEach((k, i) => {
    const h = H * k / most;
    ctx.fillRect(10 + i * W / bins, 10 + H - h, W / bins - 1, h);
  });
  ctx.fillStyle = "#555"; ctx.font = "11px system-ui"; ctx.textAlign = "left";
  ctx.fillText("sweeps to solve: 1", 10, c.height - 6);
  ctx.textAlign = "right"; ctx.fillText(String(top), c.width - 10, c.height - 6);
}

// ------------------------------------------------------------------ the 1986 record

function showClaims(claims, table, label) {
  table.innerHTML = "";
  const head = table.insertRow();
  for (const h of ["claim", "published", `measured${label ? " (" + label + ")" : ""}`, "verdict"]) {
    const th = document.createElement("th"); th.textContent = h; head.append(th);
  }
  for (const c of claims) {
    const row = table.insertRow();
    row.insertCell().textContent = c.what;
    row.insertCell().textContent = `${fmt(c.published)} (${c.kind}) — ${c.source}`;
    row.insertCell().textContent = c.measured;
    const v = row.insertCell();
    v.textContent = c.verdict ? c.verdict + (c.so_far ? " (so far)" : "") : "–";
    v.className = !c.verdict ? "" : c.verdict === "reproduced" ? "verdict-reproduced"
      : c.verdict === "not reproduced" ? "verdict-not" : "verdict-within";
    if (c.rule) v.title = c.rule;
  }
}

// ------------------------------------------------------------------ export and upload

function onExport(m) {
  let blob;
  if (m.base64) {
    const bytes = Uint8Array.from(atob(m.base64), (ch) => ch.charCodeAt(0));
    blob = new Blob([bytes], { type: m.mime });
  } else {
    blob = new Blob([m.text], { type: m.mime });
    const pre = $("export-text"); pre.hidden = false; pre.textContent = m.text;
  }
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = m.filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

async function upload(file) {
  if (!file) return;
  const limit = state.options.limits.upload_bytes;
  if (file.size > limit) { message(`${file.name} is ${file.size} bytes; the limit is ${limit}`, true); return; }
  const r = await fetch(`/api/upload?filename=${encodeURIComponent(file.name)}`, {
    method: "POST", headers: { "content-type": "text/csv" }, body: await file.text(),
  });
  const body = await r.json();
  if (!r.ok) { message(body.error, true); return; }
  state.uploads[body.task] = body;
  const opt = document.createElement("option");
  opt.value = body.task; opt.textContent = `${body.filename} (${body.rows} rows)`;
  $("csv-group").append(opt);
  const target = $("target");
  target.innerHTML = "";
  for (const col of body.columns) {
    const o = document.createElement("option"); o.value = o.textContent = col; target.append(o);
  }
  $("task").value = body.task;
  const s = await describe(body.task);
  if (!s) return;
  for (const id of ["hidden", "activation", "bias"]) $(id).disabled = false;
  fillForm(s);
  applySetup(readForm());
}

// ------------------------------------------------------------------ start

function fillSelect(id, values) {
  const el = $(id);
  for (const v of values) { const o = document.createElement("option"); o.value = o.textContent = v; el.append(o); }
}

async function start() {
  const r = await fetch("/api/options");
  state.options = await r.json();
  const task = $("task");
  const groups = [["Point sets", state.options.point_sets.map((p) => [p.name, `${p.name}: ${p.description}`])],
                  ["1986 experiments", state.options.experiments.map((e) => [e.name, `${e.name}: ${e.title}`])]];
  for (const [label, items] of groups) {
    const g = document.createElement("optgroup"); g.label = label;
    for (const [value, text] of items) { const o = document.createElement("option"); o.value = value; o.textContent = text; g.append(o); }
    task.append(g);
  }
  const csv = document.createElement("optgroup"); csv.label = "Your data"; csv.id = "csv-group"; task.append(csv);
  fillSelect("activation", state.options.activations);
  fillSelect("grain", state.options.grains);
  fillSelect("error", state.options.errors);
  $("seeds-count").max = state.options.limits.seeds;
  $("task").addEventListener("change", chooseTask);
  $("apply").addEventListener("click", () => applySetup(readForm()));
  $("play").addEventListener("click", () => {
    if (state.playing) { send({ type: "pause" }); return; }
    const speed = $("speed").value;
    send(speed === "" ? { type: "play" } : { type: "play", speed: Number(speed) });
  });
  $("step").addEventListener("click", () => send({ type: "step" }));
  $("reset").addEventListener("click", () => send({ type: "reset" }));
  $("trace-show").addEventListener("click", () => send({ type: "trace", index: state.pattern }));
  $("trace-prev").addEventListener("click", () => { state.traceSection -= 1; showTraceSection(); });
  $("trace-next").addEventListener("click", () => { state.traceSection += 1; showTraceSection(); });
  $("seeds-run").addEventListener("click", () => {
    state.seeds = null;
    $("seeds-run").disabled = true; $("seeds-stop").disabled = false;
    send({ type: "seeds", count: Number($("seeds-count").value) });
  });
  $("seeds-stop").addEventListener("click", () => send({ type: "seeds_stop" }));
  for (const what of ["toml", "npz", "python"]) {
    $(`export-${what}`).addEventListener("click", () => send({ type: "export", what }));
  }
  $("csv-file").addEventListener("change", (e) => upload(e.target.files[0]));
  $("target").addEventListener("change", () => applySetup(readForm()));
  connect();
}

window.addEventListener("DOMContentLoaded", start);
