// swapcam studio page: controls generated from the server's settings schema, a preview that asks for
// the next frame only when it has shown the last (so the page never queues work for the stream), and
// live numbers. Plain JS, no build step, nothing loaded from elsewhere.
"use strict";

const TOKEN = document.body.dataset.token;
const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const PREVIEW_INTERVAL_MS = 100; // at most 10 preview frames a second: enough to tune by, cheap for the browser
const STATS_INTERVAL_MS = 500;
let view = "output";
let lastMessage = null;
let settings = {};
let schema = [];

function show(text, kind = "error") {
  const box = $("message");
  box.textContent = text;
  box.className = "toast " + kind;
  box.hidden = false;
  clearTimeout(show.timer);
  show.timer = setTimeout(() => { box.hidden = true; }, kind === "error" ? 8000 : 3500);
}

async function get(path) {
  const response = await fetch(`${path}${path.includes("?") ? "&" : "?"}token=${TOKEN}`, { cache: "no-store" });
  if (!response.ok) throw new Error((await response.json()).error || response.statusText);
  return response.json();
}

async function post(path, body = {}) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Swapcam-Token": TOKEN },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) { show(data.error || `request failed (${response.status})`); throw new Error(data.error); }
  return data;
}

// ---- settings controls, one per field of the schema ----

function controlRow(group, c) {
  const row = document.createElement("div");
  row.className = "row";
  const id = `ctl-${group.section}-${c.name}`;
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = c.name.replaceAll("_", " ");
  label.title = `${c.flag}: ${c.help}`;
  row.append(label);
  const cell = document.createElement("div");
  cell.className = "inline";
  cell.title = c.help + (c.low !== null ? ` (${c.low} – ${c.high ?? "…"})` : "");
  let input, number;
  if (c.widget === "switch") {
    const wrap = document.createElement("label");
    wrap.className = "switch";
    input = document.createElement("input");
    input.type = "checkbox";
    wrap.append(input, document.createElement("span"));
    cell.append(wrap);
  } else if (c.widget === "select") {
    input = document.createElement("select");
    for (const choice of c.choices) input.add(new Option(choice, choice));
    cell.append(input);
  } else if (c.widget === "slider") {
    input = document.createElement("input");
    input.type = "range";
    Object.assign(input, { min: c.low, max: c.high, step: c.step });
    number = document.createElement("input");
    number.type = "number";
    number.className = "num";
    number.id = `num-${group.section}-${c.name}`;
    number.step = c.type === "int" ? 1 : "any";
    cell.append(input, number);
  } else {
    input = document.createElement("input");
    input.type = c.widget === "number" ? "number" : "text";
    if (c.widget === "number") { input.className = "num"; input.step = c.type === "int" ? 1 : "any"; }
    cell.append(input);
  }
  input.id = id;
  let auto = null;
  if (c.optional) { // None = left to the model card or the driver
    auto = document.createElement("input");
    auto.type = "checkbox";
    const wrap = document.createElement("label");
    wrap.className = "auto";
    wrap.title = "leave it to the model card or the device";
    wrap.append(auto, "auto");
    cell.append(wrap);
  }
  row.append(cell);
  const control = { group, c, input, number, auto };
  const read = (el) => {
    if (c.widget === "switch") return el.checked;
    if (c.type === "int") return Number.isFinite(el.valueAsNumber) ? el.valueAsNumber : el.value;
    if (c.type === "float") return el.value === "" ? el.value : Number(el.value);
    return el.value;
  };
  const send = (value) => change(group.section, c.name, value);
  if (c.widget === "slider") {
    let timer;
    input.addEventListener("input", () => {
      number.value = input.value;
      clearTimeout(timer);
      timer = setTimeout(() => send(read(input)), 60);
    });
    number.addEventListener("change", () => send(read(number)));
  } else {
    input.addEventListener("change", () => send(read(input)));
  }
  if (auto) auto.addEventListener("change", () => send(auto.checked ? null : (c.type === "str" ? "" : read(number || input))));
  controls.push(control);
  return row;
}

const controls = [];

function showValues() {
  for (const { group, c, input, number, auto } of controls) {
    const value = settings[group.section][c.name];
    const isAuto = value === null;
    if (auto) { auto.checked = isAuto; input.disabled = isAuto; if (number) number.disabled = isAuto; }
    if (c.widget === "switch") input.checked = !!value;
    else if (!isAuto) { input.value = value; if (number) number.value = value; }
    else if (c.type === "str") input.value = "";
  }
}

async function change(section, name, value) {
  try {
    const result = await post("/api/settings", { [section]: { [name]: value } });
    settings = result.settings;
    if (result.restarted.length) show(`restarting the stream for ${result.restarted.join(", ")}`, "info");
  } catch (err) { /* the message is shown; the controls go back to the values in force */ }
  showValues();
}

function buildControls() {
  const root = $("groups");
  for (const group of schema) {
    const box = document.createElement("details");
    box.className = "group";
    box.open = group.applies === "next frame";
    box.id = `group-${group.section}`;
    const summary = document.createElement("summary");
    const restart = group.applies !== "next frame";
    summary.innerHTML = `<span>${group.section}</span><span class="applies${restart ? " restart" : ""}">${group.applies}</span>`;
    box.append(summary);
    for (const c of group.controls) box.append(controlRow(group, c));
    root.append(box);
  }
}

// ---- stream: input, model, virtual camera, recording, snapshot, presets ----

function fillSelect(select, names, current) {
  select.replaceChildren(...names.map((n) => new Option(n, n)));
  if (current !== undefined && names.includes(current)) select.value = current;
}

let state = {};
function inputArgs() {
  const kind = $("input-kind").value;
  $("input-camera").hidden = kind !== "camera";
  $("input-arg").hidden = kind === "camera";
  const names = kind === "synthetic" ? state.identities : state.media || [];
  fillSelect($("input-arg"), names);
}

function inputSpec() {
  const kind = $("input-kind").value;
  if (kind === "camera") return `camera:${$("input-camera").value || 0}`;
  if (kind === "synthetic") return `synthetic:identity=${$("input-arg").value}`;
  return `${kind}:${$("input-arg").value}`;
}

async function refreshState() {
  state = await get("/api/state");
  settings = state.settings;
  // a message from before the page opened, about a stream that streams again, is old news
  if (lastMessage === null && state.status.state === "streaming") lastMessage = state.status.message;
  showValues();
  fillSelect($("model"), state.models.includes(state.status.model) ? state.models : [state.status.model, ...state.models], state.status.model);
  fillSelect($("preset"), state.presets);
  const [kind, argument = ""] = state.status.input.split(/:(.*)/s);
  $("input-kind").value = kind;
  inputArgs();
  if (kind === "camera") $("input-camera").value = argument || 0;
  const identity = /identity=([^,]+)/.exec(argument);
  if (kind === "synthetic" && identity) $("input-arg").value = identity[1];
  if (kind === "file" || kind === "images") $("input-arg").value = argument.split("/").pop();
  $("virtualcam").checked = state.status.virtualcam;
}

function wireStream() {
  $("input-kind").addEventListener("change", inputArgs);
  $("input-go").addEventListener("click", () => post("/api/input", { input: inputSpec() }).then(() => show("switching input…", "info"), () => {}));
  $("model-go").addEventListener("click", () => post("/api/model", { model: $("model").value }).then(() => show("switching model…", "info"), () => {}));
  $("virtualcam").addEventListener("change", (e) => post("/api/virtualcam", { on: e.target.checked }).catch(() => { e.target.checked = !e.target.checked; }));
  $("record").addEventListener("click", async () => {
    try {
      if (recording) { const r = await post("/api/record/stop"); show(`saved ${r.recorded.file}: ${r.recorded.written} frames`, "info"); }
      else { await post("/api/record/start", { name: $("record-name").value }); }
    } catch (err) { /* shown */ }
  });
  $("snapshot").addEventListener("click", () => post("/api/snapshot").then((r) => show(`saved ${r.snapshot}`, "info"), () => {}));
  $("preset-save").addEventListener("click", async () => {
    try { const r = await post("/api/presets/save", { name: $("preset-name").value }); show(`saved preset ${r.preset}`, "info"); await refreshState(); } catch (err) { /* shown */ }
  });
  $("preset-load").addEventListener("click", async () => {
    try { const r = await post("/api/presets/load", { name: $("preset").value }); settings = r.settings; showValues(); show(`loaded preset ${$("preset").value}`, "info"); } catch (err) { /* shown */ }
  });
  $("reset").addEventListener("click", async () => {
    try { const r = await post("/api/reset"); settings = r.settings; showValues(); } catch (err) { /* shown */ }
  });
}

// ---- preview and live numbers ----

function buildViews(views) {
  for (const v of views) {
    const button = document.createElement("button");
    button.id = `view-${v.name}`;
    button.textContent = v.label;
    button.className = v.name === view ? "active" : "";
    button.addEventListener("click", () => {
      view = v.name;
      for (const b of $("views").children) b.classList.toggle("active", b === button);
    });
    $("views").append(button);
  }
}

async function previewLoop() {
  const img = $("preview");
  let previous = null;
  for (;;) {
    const started = performance.now();
    // the frame shown, so the server answers with a newer one (never the same frame twice)
    const after = img.dataset.view === view ? img.dataset.frame : -1;
    try {
      const response = await fetch(`/api/preview.jpg?view=${view}&after=${after}&token=${TOKEN}`, { cache: "no-store" });
      if (response.ok) {
        const url = URL.createObjectURL(await response.blob());
        img.src = url;
        await img.decode().catch(() => {});
        img.dataset.frame = response.headers.get("X-Frame-Index");
        img.dataset.view = view;
        img.classList.toggle("face", view === "aligned" || view === "model");
        $("preview-empty").hidden = true;
        if (previous) URL.revokeObjectURL(previous);
        previous = url;
      } else { await sleep(300); }
    } catch (err) { await sleep(1000); }
    await sleep(Math.max(0, PREVIEW_INTERVAL_MS - (performance.now() - started)));
  }
}

let recording = false;
function showStats(s) {
  const st = s.status;
  $("status").textContent = st.state;
  $("status").className = `pill ${st.state}`;
  $("status").title = st.message || "";
  $("now-input").textContent = st.input;
  $("now-model").textContent = st.model + (st.virtualcam ? " → virtual camera" : "");
  if (st.message && st.message !== lastMessage) show(st.message);
  if (st.retune_error && st.retune_error !== lastMessage) show(st.retune_error);
  lastMessage = st.retune_error || st.message;
  $("m-fps").textContent = s.fps.toFixed(1);
  $("m-p50").textContent = `${s.latency_ms.p50.toFixed(1)} ms`;
  $("m-p95").textContent = `${s.latency_ms.p95.toFixed(1)} ms`;
  $("top-fps").textContent = `${s.fps.toFixed(1)} fps`;
  $("top-p95").textContent = `p95 ${s.latency_ms.p95.toFixed(1)} ms`;
  $("m-faces").textContent = s.faces;
  $("m-frames").textContent = s.frames;
  $("m-dropped").textContent = s.dropped;
  const faults = Object.entries(s.faults).map(([k, v]) => `${k.replace("_", " ")} ${v}`).join(" · ");
  $("m-faults").textContent = faults || "none";
  $("m-shed").textContent = s.shed.now.join(" · ") || "nothing";
  $("m-shed").title = Object.entries(s.shed.frames).map(([k, v]) => `${k}: ${v} frames`).join("\n");
  recording = !!st.recording;
  $("record").textContent = recording ? "■ stop" : "● record";
  $("record").classList.toggle("on", recording);
  $("record-state").textContent = recording ? `REC ${st.recording.file}: ${st.recording.written} frames` : "";
  drawChart(s.chart_ms, s.latency_ms.p95);
  drawStages(s.stages_ms);
}

function drawChart(values, p95) {
  const canvas = $("chart");
  const ratio = window.devicePixelRatio || 1;
  canvas.width = canvas.clientWidth * ratio;
  canvas.height = canvas.clientHeight * ratio;
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  const w = canvas.clientWidth, h = canvas.clientHeight;
  const top = Math.max(50, ...values) * 1.1;
  const y = (v) => h - 4 - (v / top) * (h - 8);
  g.strokeStyle = "#262b37"; g.fillStyle = "#8a91a3"; g.font = "10px system-ui";
  const marks = top > 150 ? [0, 50, 100, 200, 400, 800] : [0, 25, 50, 100];
  for (const mark of marks.filter((m) => m < top)) {
    g.beginPath(); g.moveTo(28, y(mark)); g.lineTo(w, y(mark)); g.stroke(); g.fillText(String(mark), 2, y(mark) + 3);
  }
  if (!values.length) return;
  const x = (i) => 28 + (i / Math.max(1, values.length - 1)) * (w - 30);
  g.strokeStyle = "#ffb347"; g.setLineDash([4, 4]);
  g.beginPath(); g.moveTo(28, y(p95)); g.lineTo(w, y(p95)); g.stroke(); g.setLineDash([]);
  g.strokeStyle = "#5b8cff"; g.lineWidth = 1.5; g.beginPath();
  values.forEach((v, i) => (i ? g.lineTo(x(i), y(v)) : g.moveTo(x(i), y(v))));
  g.stroke();
}

function drawStages(stages) {
  const entries = Object.entries(stages);
  const top = Math.max(1, ...entries.map(([, v]) => v));
  $("stages").replaceChildren(...entries.map(([name, ms]) => {
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.innerHTML = `<span>${name}</span><div class="track"><div class="fill" style="width:${(100 * ms) / top}%"></div></div><span class="ms">${ms.toFixed(2)}</span>`;
    return bar;
  }));
}

async function statsLoop() {
  for (;;) {
    try { showStats(await get("/api/stats")); } catch (err) { $("status").textContent = "server gone"; $("status").className = "pill error"; }
    await sleep(STATS_INTERVAL_MS);
  }
}

async function main() {
  const loaded = await get("/api/schema");
  schema = loaded.groups;
  buildViews(loaded.views);
  buildControls();
  wireStream();
  await refreshState();
  previewLoop();
  statsLoop();
}

main().catch((err) => show(`the page could not start: ${err.message}`));
