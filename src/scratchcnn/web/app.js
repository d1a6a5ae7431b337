// The drawing demo: a pad, live predictions from POST /api/predict, and pictures of what
// the network saw. Everything comes from this server; texts from GET /api/messages.
"use strict";

const MIN_INTERVAL_MS = 90; // at most about ten requests a second while drawing
const STROKE = 22; // pen width on the 280x280 pad: about 2 px once scaled to MNIST's 20x20
// The drawing is sent at 112x112 (4x MNIST's 28): the digit keeps about three times the
// detail the network's 20x20 can hold, and the server prepares a sixth of the pixels.
const SEND_SIZE = 112;
const IMAGE_TYPES = ["image/png", "image/jpeg"];
// A few stops of the viridis colour map, interpolated linearly.
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
const GAP = [23, 30, 46, 255];
const HEAT = [[0, 0, 0], [120, 20, 60], [230, 60, 30], [255, 170, 20], [255, 250, 200]];

const DATASET_NAMES = { mnist: "MNIST", "fashion-mnist": "Fashion-MNIST", "mnist-sample": "MNIST" };

const $ = (id) => document.getElementById(id);
const pad = $("pad");
const ctx = pad.getContext("2d");

let texts = {};
let language = "en";
let lastAnswer = null;
let hasInk = false;
let drawing = null; // the pointer id drawing now, and its last point
let dirty = false;
let inFlight = false;
let timer = null;
let lastSent = 0;

// --- texts ---------------------------------------------------------------------------
function t(key, values = {}) {
  const text = (texts[language] || {})[key] || (texts.en || {})[key] || key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in values ? values[name] : `{${name}}`));
}

function applyLanguage(lang) {
  language = texts[lang] ? lang : "en";
  document.documentElement.lang = language === "zh" ? "zh-Hans" : "en";
  $("language").value = language;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  }
  document.title = `scratchcnn · ${t("title")}`;
  renderModelInfo();
  if (lastAnswer) render(lastAnswer);
  else $("confidence").textContent = t("waiting");
}

// --- the pad ---------------------------------------------------------------------------
function clearPad() {
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, pad.width, pad.height);
  hasInk = false;
  document.body.classList.remove("has-ink");
}

function padPoint(event) {
  const rect = pad.getBoundingClientRect();
  return [
    ((event.clientX - rect.left) * pad.width) / rect.width,
    ((event.clientY - rect.top) * pad.height) / rect.height,
  ];
}

function stroke(from, to, pressure) {
  ctx.strokeStyle = "#fff";
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  // Pens report pressure; a mouse reports 0.5 while a button is down.
  ctx.lineWidth = STROKE * (0.75 + 0.5 * (pressure || 0.5));
  ctx.beginPath();
  if (from[0] === to[0] && from[1] === to[1]) {
    // A dot: a line of length zero draws nothing.
    ctx.fillStyle = "#fff";
    ctx.arc(from[0], from[1], ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fill();
    return;
  }
  ctx.moveTo(from[0], from[1]);
  ctx.lineTo(to[0], to[1]);
  ctx.stroke();
}

pad.addEventListener("pointerdown", (event) => {
  if (drawing || (event.pointerType === "mouse" && event.button !== 0)) return;
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  const point = padPoint(event);
  drawing = { id: event.pointerId, last: point };
  if (!hasInk) $("photo-figure").hidden = true;
  hasInk = true;
  document.body.classList.add("has-ink");
  stroke(point, point, event.pressure);
  requestPrediction();
});

pad.addEventListener("pointermove", (event) => {
  if (!drawing || event.pointerId !== drawing.id) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const e of events.length ? events : [event]) {
    const point = padPoint(e);
    stroke(drawing.last, point, e.pressure);
    drawing.last = point;
  }
  requestPrediction();
});

function endStroke(event) {
  if (!drawing || event.pointerId !== drawing.id) return;
  drawing = null;
  requestPrediction();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

$("clear").addEventListener("click", () => {
  clearPad();
  dirty = false;
  lastAnswer = null;
  resetAnswer();
  updateState();
});

// --- requests --------------------------------------------------------------------------
function updateState() {
  document.body.dataset.state = dirty || inFlight || timer ? "busy" : "idle";
}

// Ask for a prediction of the pad: at most one request in flight and one every
// MIN_INTERVAL_MS; the newest drawing always gets an answer.
function requestPrediction() {
  dirty = true;
  pump();
}

function pump() {
  updateState();
  if (inFlight || timer || !dirty) return;
  if (!hasInk) {
    dirty = false;
    updateState();
    return;
  }
  const wait = MIN_INTERVAL_MS - (performance.now() - lastSent);
  if (wait > 0) {
    timer = setTimeout(() => {
      timer = null;
      pump();
    }, wait);
    updateState();
    return;
  }
  dirty = false;
  inFlight = true;
  lastSent = performance.now();
  updateState();
  sendable().toBlob((blob) => send(blob, "image/png"), "image/png");
}

// The pad scaled to SEND_SIZE x SEND_SIZE with smoothing, on a canvas of its own.
function sendable() {
  const small = document.createElement("canvas");
  small.width = SEND_SIZE;
  small.height = SEND_SIZE;
  const smallCtx = small.getContext("2d");
  smallCtx.imageSmoothingEnabled = true;
  smallCtx.imageSmoothingQuality = "high";
  smallCtx.drawImage(pad, 0, 0, SEND_SIZE, SEND_SIZE);
  return small;
}

async function send(body, type) {
  inFlight = true;
  updateState();
  try {
    const response = await fetch("/api/predict", {
      method: "POST",
      headers: { "Content-Type": type },
      body,
    });
    const answer = await response.json();
    if (response.ok) {
      lastAnswer = answer;
      render(answer);
    } else {
      showMessage(t("error", { message: answer.error || response.statusText }));
    }
  } catch (error) {
    showMessage(t("offline"));
  } finally {
    inFlight = false;
    pump();
  }
}

// --- photos ----------------------------------------------------------------------------
function usePhoto(file) {
  if (!file) return;
  if (!IMAGE_TYPES.includes(file.type)) {
    showMessage(t("not_image"));
    return;
  }
  clearPad();
  dirty = false;
  const photo = $("photo");
  if (photo.src) URL.revokeObjectURL(photo.src);
  photo.src = URL.createObjectURL(file);
  $("photo-figure").hidden = false;
  send(file, file.type);
}

$("file").addEventListener("change", (event) => {
  usePhoto(event.target.files[0]);
  event.target.value = "";
});
document.addEventListener("dragover", (event) => {
  event.preventDefault();
  document.body.classList.add("dragging");
});
document.addEventListener("dragleave", (event) => {
  if (!event.relatedTarget) document.body.classList.remove("dragging");
});
document.addEventListener("drop", (event) => {
  event.preventDefault();
  document.body.classList.remove("dragging");
  usePhoto(event.dataTransfer.files[0]);
});

// --- showing an answer -----------------------------------------------------------------
function showMessage(text) {
  $("message").textContent = text;
}

function buildBars() {
  const bars = $("bars");
  bars.replaceChildren();
  for (let digit = 0; digit < 10; digit++) {
    const row = document.createElement("li");
    row.innerHTML = '<span class="name"></span><span class="track"><span class="fill"></span></span><span class="value"></span>';
    row.querySelector(".name").textContent = String(digit);
    bars.append(row);
  }
}

function resetAnswer() {
  $("prediction").textContent = "";
  $("confidence").textContent = t("waiting");
  showMessage("");
  for (const row of $("bars").children) {
    row.classList.remove("best");
    row.querySelector(".fill").style.width = "0";
    row.querySelector(".value").textContent = "";
  }
  for (const id of ["input", "saliency"]) {
    const canvas = $(id);
    canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
  }
  $("stages").replaceChildren();
  $("photo-figure").hidden = true;
}

function percent(p) {
  return `${(100 * p).toFixed(p >= 0.995 || p < 0.001 ? 0 : 1)}%`;
}

function render(answer) {
  showMessage("");
  $("prediction").textContent = answer.label;
  $("confidence").textContent = t("confidence", { percent: percent(answer.probabilities[answer.digit]) });
  const rows = $("bars").children;
  if (rows.length !== answer.probabilities.length) {
    $("bars").replaceChildren();
    answer.class_names.forEach((name) => {
      const row = document.createElement("li");
      row.innerHTML = '<span class="name"></span><span class="track"><span class="fill"></span></span><span class="value"></span>';
      row.querySelector(".name").textContent = name;
      $("bars").append(row);
    });
  }
  answer.probabilities.forEach((p, i) => {
    const row = $("bars").children[i];
    row.classList.toggle("best", i === answer.digit);
    row.querySelector(".fill").style.width = `${(100 * p).toFixed(2)}%`;
    row.querySelector(".value").textContent = percent(p);
  });
  drawInput(answer.input);
  drawSaliency(answer.input, answer.saliency);
  drawStages(answer.feature_maps);
}

function colour(map, v) {
  const x = Math.min(Math.max(v, 0), 1) * (map.length - 1);
  const i = Math.min(Math.floor(x), map.length - 2);
  const f = x - i;
  return map[i].map((c, k) => Math.round(c + f * (map[i + 1][k] - c)));
}

function drawInput(rows) {
  const canvas = $("input");
  const image = canvas.getContext("2d").createImageData(28, 28);
  rows.flat().forEach((v, i) => image.data.set([v, v, v, 255], 4 * i));
  canvas.getContext("2d").putImageData(image, 0, 0);
}

function drawSaliency(inputRows, saliencyRows) {
  const canvas = $("saliency");
  const image = canvas.getContext("2d").createImageData(28, 28);
  const input = inputRows.flat();
  saliencyRows.flat().forEach((s, i) => {
    const [r, g, b] = colour(HEAT, s);
    const ink = 0.25 * input[i]; // the digit faintly underneath
    image.data.set([Math.max(r, ink), Math.max(g, ink), Math.max(b, ink), 255], 4 * i);
  });
  canvas.getContext("2d").putImageData(image, 0, 0);
}

function drawStages(stages) {
  const box = $("stages");
  if (box.children.length !== stages.length) {
    box.replaceChildren();
    for (let i = 0; i < stages.length; i++) {
      const stage = document.createElement("div");
      stage.className = "stage";
      stage.innerHTML = '<span class="name"></span><canvas></canvas><span class="shape"></span>';
      box.append(stage);
    }
  }
  stages.forEach((stage, index) => {
    const el = box.children[index];
    const { height, width, shown } = stage;
    el.querySelector(".name").textContent = stage.name;
    el.querySelector(".shape").textContent = t("channels", {
      shown, total: stage.channels, height, width,
    });
    const columns = Math.min(shown, 8);
    const rows = Math.ceil(shown / columns);
    const canvas = el.querySelector("canvas");
    canvas.width = columns * (width + 1) - 1;
    canvas.height = rows * (height + 1) - 1;
    const scale = Math.max(2, Math.floor(40 / width));
    canvas.style.width = `${canvas.width * scale}px`;
    canvas.style.height = `${canvas.height * scale}px`;
    const bytes = Uint8Array.from(atob(stage.data), (c) => c.charCodeAt(0));
    const image = canvas.getContext("2d").createImageData(canvas.width, canvas.height);
    for (let i = 0; i < image.data.length; i += 4) image.data.set(GAP, i); // the gaps: card colour
    for (let c = 0; c < shown; c++) {
      const top = Math.floor(c / columns) * (height + 1);
      const left = (c % columns) * (width + 1);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const v = bytes[c * height * width + y * width + x] / 255;
          const at = 4 * ((top + y) * canvas.width + left + x);
          image.data.set([...colour(VIRIDIS, v), 255], at);
        }
      }
    }
    canvas.getContext("2d").putImageData(image, 0, 0);
  });
}

// --- the model and start-up ------------------------------------------------------------
let model = null;

function renderModelInfo() {
  if (!model) return;
  const values = {
    preset: model.preset || model.source,
    params: model.params.toLocaleString(language === "zh" ? "zh-CN" : "en-US"),
    dataset: DATASET_NAMES[(model.test && model.test.dataset) || model.dataset] || model.dataset || "?",
  };
  $("model-info").textContent = model.test
    ? t("model_info", { ...values, accuracy: `${(100 * model.test.accuracy).toFixed(2)}%` })
    : t("model_info_untested", values);
}

$("language").addEventListener("change", (event) => {
  try { localStorage.setItem("scratchcnn.language", event.target.value); } catch (e) { /* private mode */ }
  applyLanguage(event.target.value);
});

async function start() {
  clearPad();
  buildBars();
  try {
    const [messages, description] = await Promise.all([
      fetch("/api/messages").then((r) => r.json()),
      fetch("/api/model").then((r) => r.json()),
    ]);
    texts = messages.messages;
    model = description;
    let saved = null;
    try { saved = localStorage.getItem("scratchcnn.language"); } catch (e) { /* private mode */ }
    applyLanguage(saved || messages.language);
  } catch (error) {
    showMessage("The server is not answering.");
  }
  document.body.dataset.ready = "true";
}

start();
