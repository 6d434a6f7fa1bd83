// The labelling page. Every row is shown with textContent: a text is never markup.
"use strict";

const token = new URLSearchParams(location.search).get("token");
const headers = { "Content-Type": "application/json" };
if (token) headers["X-Skepinet-Token"] = token;

// Milliseconds from each click (or key) to the next row on screen, for benchmarks.
window.skepinetTimings = [];

let current = null;
let busy = false;
let actions = 0;
const SVG = "http://www.w3.org/2000/svg";

function $(id) { return document.getElementById(id); }

async function call(path, body) {
  const options = body === undefined ? { headers } : { method: "POST", headers, body: JSON.stringify(body) };
  const response = await fetch(path, options);
  let data = {};
  try { data = await response.json(); } catch (error) { /* not JSON: use the status */ }
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
  return data;
}

function showError(message) {
  $("error").hidden = !message;
  $("error").textContent = message || "";
}

function percent(x) { return `${Math.round(100 * x)} %`; }

function buildButtons(labels) {
  const box = $("buttons");
  if (box.childElementCount === labels.length) return;
  box.replaceChildren();
  labels.forEach((label, i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "label-button";
    button.dataset.label = label;
    button.append(label);
    if (i < 9) {
      const key = document.createElement("kbd");
      key.textContent = String(i + 1);
      button.append(key);
    }
    button.addEventListener("click", () => act("answer", { label }));
    box.append(button);
  });
}

function describeModel(model, state) {
  if (model.error) return `Background training failed: ${model.error}`;
  const training = model.training ? " · retraining in the background…" : "";
  if (!model.version) {
    return model.training ? "The first model is training in the background…"
      : `Rows come in random order until the first model, after ${state.retrain_every} answers.`;
  }
  return `Model v${model.version}, trained on ${model.labels} labels${training}`;
}

function drawCurve(points, state) {
  $("curve-box").hidden = points.length === 0;
  $("window").textContent = String(state.curve_window);
  const svg = $("curve");
  svg.replaceChildren();
  if (!points.length) return;
  const [w, h, left, bottom] = [320, 110, 40, 18];
  const maxX = Math.max(state.budget, points[points.length - 1][0]);
  const x = (v) => left + (w - left - 6) * v / maxX;
  const y = (v) => 6 + (h - bottom - 6) * (1 - v);
  const line = (x1, y1, x2, y2) => {
    const l = document.createElementNS(SVG, "line");
    Object.entries({ x1, y1, x2, y2 }).forEach(([k, v]) => l.setAttribute(k, v));
    l.setAttribute("class", "axis");
    svg.append(l);
  };
  const label = (text, tx, ty, anchor) => {
    const t = document.createElementNS(SVG, "text");
    t.setAttribute("x", tx); t.setAttribute("y", ty); t.setAttribute("text-anchor", anchor);
    t.textContent = text;
    svg.append(t);
  };
  line(left, y(0), w - 6, y(0));
  line(left, y(0), left, y(1));
  [0, 0.5, 1].forEach((v) => label(percent(v), left - 3, y(v) + 3, "end"));
  label("0", x(0), h - 4, "middle");
  label(`${maxX} labels`, x(maxX), h - 4, "end");
  const polyline = document.createElementNS(SVG, "polyline");
  polyline.setAttribute("class", "line");
  polyline.setAttribute("points", points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(" "));
  svg.append(polyline);
}

function render(state) {
  current = state;
  buildButtons(state.labels);
  $("progress-text").textContent = `${state.labelled} / ${state.budget} labelled`;
  $("progress-bar").style.width = percent(Math.min(1, state.labelled / state.budget)).replace(" ", "");
  $("pace").textContent = state.seconds_per_answer == null ? "" : `${state.seconds_per_answer.toFixed(1)} s per answer`;
  $("skipped").textContent = state.skipped ? `${state.skipped} skipped` : "";
  $("model").textContent = describeModel(state.model, state);
  drawCurve(state.curve, state);
  $("undo").disabled = !state.can_undo;
  $("undo-done").disabled = !state.can_undo;
  $("card").hidden = state.done;
  $("done").hidden = !state.done;
  if (state.done) {
    $("done-text").textContent = state.labelled >= state.budget
      ? `Budget reached: ${state.labelled} labels.` : `Every row is labelled or skipped (${state.labelled} labels).`;
    $("export-command").textContent = state.export_command;
    return;
  }
  const row = state.row;
  $("card").dataset.row = String(row.id);
  $("row-id").textContent = String(row.id);
  $("rows").textContent = String(state.rows);
  $("text").textContent = row.text;
  $("pair").hidden = row.pair == null;
  $("pair").textContent = row.pair == null ? "" : row.pair;
  const p = row.prediction;
  $("prediction").textContent = p
    ? `Model v${p.model} guesses “${p.label}” at ${percent(p.probability)} (± ${percent(p.spread)} over index samples)`
    : (state.model.version ? "Not scored by the model yet." : "");
  document.querySelectorAll("#buttons button, #skip").forEach((b) => { b.disabled = false; });
}

function afterPaint() { return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0))); }

async function act(kind, extra) {
  if (busy || !current) return;
  if (kind !== "undo" && current.done) return;
  busy = true;
  actions += 1;
  const started = performance.now();
  document.querySelectorAll("#buttons button, #skip").forEach((b) => { b.disabled = true; });
  try {
    const body = kind === "undo" ? {} : { row: current.row.id, ...extra };
    const state = await call(`api/${kind}`, body);
    render(state);
    showError(null);
    await afterPaint();
    window.skepinetTimings.push({ kind, ms: performance.now() - started, training: state.model.training });
  } catch (error) {
    showError(error.message);
    try { render(await call("api/state")); } catch (again) { /* the server is down: keep the page */ }
  } finally {
    busy = false;
  }
}

async function poll() {
  if (busy) return;
  const seen = actions;
  try {
    const state = await call("api/state");
    if (!busy && seen === actions) { render(state); showError(null); }
  } catch (error) {
    if (!busy && seen === actions) showError(`The server does not answer (${error.message}); your answers so far are saved.`);
  }
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || !current) return;
  const digit = Number.parseInt(event.key, 10);
  if (digit >= 1 && digit <= Math.min(9, current.labels.length)) {
    act("answer", { label: current.labels[digit - 1] });
  } else if (event.key === "s") {
    act("skip");
  } else if (event.key === "u" || event.key === "Backspace") {
    event.preventDefault();
    act("undo");
  }
});

window.addEventListener("DOMContentLoaded", () => {
  $("skip").addEventListener("click", () => act("skip"));
  $("undo").addEventListener("click", () => act("undo"));
  $("undo-done").addEventListener("click", () => act("undo"));
  poll();
  setInterval(poll, 2000);
});
