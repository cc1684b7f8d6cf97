// The page of `audiosr app`: plain JavaScript, no library, nothing loaded from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const PLAYERS = ["input", "output", "reference"];
let config = null;
let current = null; // the input being worked on (as /api/upload or /api/clip describe it)
let runs = []; // finished jobs on the current input, newest last
let shown = null; // the job whose result is on display

function setState(state) {
  document.body.dataset.state = state;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
  setState("error");
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

async function api(path, options) {
  const response = await fetch(path, options);
  let body = null;
  try {
    body = await response.json();
  } catch (e) {
    body = null;
  }
  if (!response.ok) {
    throw new Error((body && body.error) || `the server answered ${response.status} ${response.statusText}`);
  }
  return body;
}

function hz(rate) {
  return `${Number(rate).toLocaleString("en-US")} Hz`;
}

function seconds(s) {
  return s >= 120 ? `${Math.floor(s / 60)} min ${(s % 60).toFixed(0)} s` : `${s.toFixed(2)} s`;
}

function option(value, text) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = text;
  return o;
}

// ---------------------------------------------------------------- inputs

function loading(text, fraction) {
  $("loading").hidden = text === null;
  $("loading-text").textContent = text || "";
  if (fraction === undefined) {
    $("upload-progress").removeAttribute("value");
  } else {
    $("upload-progress").value = fraction;
  }
}

function upload(file) {
  clearError();
  const limit = config.max_upload_mb * 1e6;
  if (file.size > limit) {
    showError(
      `'${file.name}' is ${(file.size / 1e6).toFixed(1)} MB, above the app's upload limit of ` +
        `${config.max_upload_mb} MB (start the app with --max-upload-mb to raise it, or use \`audiosr upsample\`).`
    );
    return;
  }
  setState("uploading");
  loading(`uploading ${file.name}`, 0);
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/api/upload?name=" + encodeURIComponent(file.name));
  xhr.setRequestHeader("X-Audiosr", "1");
  xhr.upload.onprogress = (event) => {
    if (event.lengthComputable) {
      loading(`uploading ${file.name}: ${(event.loaded / 1e6).toFixed(1)} of ${(event.total / 1e6).toFixed(1)} MB`, event.loaded / event.total);
    }
  };
  xhr.upload.onload = () => loading(`reading ${file.name} and measuring its bandwidth`);
  xhr.onload = () => {
    loading(null);
    let body = null;
    try {
      body = JSON.parse(xhr.responseText);
    } catch (e) {
      body = null;
    }
    if (xhr.status !== 200) {
      showError((body && body.error) || `the upload failed: the server answered ${xhr.status}`);
    } else {
      setInput(body);
    }
  };
  xhr.onerror = () => {
    loading(null);
    showError(`the upload of '${file.name}' failed (the connection to the app was lost; is it still running?).`);
  };
  xhr.send(file);
}

async function useClip() {
  clearError();
  const name = $("clip-select").value;
  setState("uploading");
  loading(`preparing the clip ${name}`);
  try {
    setInput(await api(`/api/clip/${encodeURIComponent(name)}`, { method: "POST", headers: { "X-Audiosr": "1" } }));
  } catch (e) {
    showError(e.message);
  } finally {
    loading(null);
  }
}

function fact(label, value, id) {
  const row = document.createElement("tr");
  const th = document.createElement("th");
  const td = document.createElement("td");
  th.textContent = label;
  td.textContent = value;
  if (id) td.id = id;
  row.append(th, td);
  return row;
}

function setInput(input) {
  current = input;
  runs = [];
  shown = null;
  const body = $("detected").querySelector("tbody");
  body.replaceChildren(
    fact("file", input.clip ? `${input.name} (shipped clip ${input.clip})` : input.name, "fact-name"),
    fact("sample rate", hz(input.sr), "fact-rate"),
    fact("channels", String(input.channels), "fact-channels"),
    fact("duration", seconds(input.duration), "fact-duration"),
    fact("format", `${input.format} / ${input.subtype}`, "fact-format"),
    fact(
      "content bandwidth",
      input.bandwidth_hz > 0
        ? `up to ${(input.bandwidth_hz / 1000).toFixed(2)} kHz (confidence ${input.bandwidth_confidence.toFixed(2)}; ${input.bandwidth_evidence})`
        : `no active content (${input.bandwidth_evidence})`,
      "fact-bandwidth"
    ),
    fact(
      "treated as",
      input.effective_sr === input.sr ? `${hz(input.sr)} material (full band)` : `${hz(input.effective_sr)} material`,
      "fact-effective"
    )
  );
  $("step-detected").hidden = false;
  $("step-result").hidden = true;
  $("job").hidden = true;
  for (const name of PLAYERS) {
    $(`player-${name}`).pause();
  }
  $("target").replaceChildren(...input.targets.map((r) => option(r, hz(r))));
  if (input.targets.length === 0) {
    $("step-run").hidden = true;
    showError(`audiosr app offers target rates up to ${hz(config.targets[config.targets.length - 1])}; this file is already ${hz(input.sr)} and full band.`);
    return;
  }
  $("target").value = String(input.default_target);
  $("method").replaceChildren(
    option("auto", "automatic (the plan's choice)"),
    ...config.methods.map((m) =>
      option(m.name, m.kind === "model" ? `model ${m.name} (${hz(m.input_sr)} to ${hz(m.output_sr)})` : `${m.name} interpolation`)
    )
  );
  $("method").value = "auto";
  $("step-run").hidden = false;
  setState("ready");
  refreshPlan();
}

// ---------------------------------------------------------------- plans and runs

let planRequest = 0;

async function refreshPlan() {
  if (!current) return;
  const ask = ++planRequest;
  const target = $("target").value;
  const method = $("method").value;
  const query = (m) => `/api/plan?input=${encodeURIComponent(current.id)}&target=${target}&method=${encodeURIComponent(m)}`;
  $("run").disabled = true;
  try {
    const auto = await api(query("auto"));
    if (ask !== planRequest) return;
    $("method").options[0].textContent =
      auto.action === "skip" ? "automatic: nothing to add" : `automatic: ${auto.label} (the plan's choice)`;
    const chosen = method === "auto" ? auto : await api(query(method));
    if (ask !== planRequest) return;
    $("plan").classList.remove("error");
    if (chosen.action === "skip") {
      $("plan").textContent = `Nothing to add: ${chosen.reason}.`;
    } else {
      $("plan").textContent = `Plan: ${chosen.line}`;
      $("run").disabled = document.body.dataset.state === "running";
    }
  } catch (e) {
    if (ask !== planRequest) return;
    $("plan").textContent = e.message;
    $("plan").classList.add("error");
  }
}

async function run() {
  clearError();
  $("run").disabled = true;
  setState("running");
  $("job").hidden = false;
  $("progress").value = 0;
  $("phase").textContent = "starting";
  try {
    const job = await api("/api/run", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Audiosr": "1" },
      body: JSON.stringify({ input: current.id, target: Number($("target").value), method: $("method").value }),
    });
    poll(job.id);
  } catch (e) {
    $("job").hidden = true;
    $("run").disabled = false;
    showError(e.message);
  }
}

async function poll(id) {
  let job;
  try {
    job = await api(`/api/jobs/${id}`);
  } catch (e) {
    $("run").disabled = false;
    showError(e.message);
    return;
  }
  if (!current || job.input !== current.id) return; // another input was loaded meanwhile
  $("progress").value = job.progress;
  $("phase").textContent = job.phase;
  if (job.status === "queued" || job.status === "running") {
    setTimeout(() => poll(id), 250);
    return;
  }
  $("run").disabled = false;
  if (job.status === "error") {
    $("job").hidden = true;
    showError(`The run failed: ${job.message}`);
    return;
  }
  $("phase").textContent = `done in ${job.elapsed.toFixed(1)} s`;
  runs.push(job);
  show(job);
  setState("done");
}

// ---------------------------------------------------------------- results

function show(job) {
  shown = job;
  const r = job.result;
  for (const name of PLAYERS) $(`player-${name}`).pause();
  $("player-input").src = current.play;
  $("caption-input").textContent = `${hz(current.sr)}`;
  $("player-output").src = r.play;
  $("caption-output").textContent = `${job.label}, ${hz(r.sr)}`;
  $("spec-input").src = r.spectrograms.input;
  $("spec-output").src = r.spectrograms.output;
  const hasReference = Boolean(current.reference);
  $("panel-reference").hidden = !hasReference;
  $("ab-reference").hidden = !hasReference;
  if (!hasReference && live === "reference") switchTo("input");
  if (hasReference) {
    $("player-reference").src = current.reference;
    $("spec-reference").src = r.spectrograms.reference;
    $("caption-reference").textContent = hz(current.reference_sr);
  }
  $("spec-note").textContent =
    `Spectrograms of the first ${r.spectrogram_seconds.toFixed(1)} s on one colour scale ` +
    `(-100 to -10 dB re full scale, 21 ms window), each up to ${(r.sr / 2000).toFixed(1)} kHz: ` +
    "what the input lacks shows black.";
  renderRuns();
  $("metrics-note").textContent = r.metrics_note || "";
  $("download").href = `${r.download}?download=1`;
  $("download").textContent = `Download ${r.name}`;
  $("download-info").textContent = `${hz(r.sr)}, ${r.channels} channel(s), ${seconds(r.duration)}, ${r.format} / ${r.subtype}`;
  $("step-result").hidden = false;
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function renderRuns() {
  const body = $("metrics").querySelector("tbody");
  body.replaceChildren(
    ...runs.map((job) => {
      const m = job.result.metrics;
      const row = document.createElement("tr");
      row.dataset.method = job.method;
      row.title = "show this run";
      if (job === shown) row.classList.add("shown");
      row.append(
        cell(job.label),
        cell(hz(job.result.sr)),
        cell(m ? m.snr.toFixed(2) : "–"),
        cell(m ? m.lsd.toFixed(3) : "–"),
        cell(m ? m.lsd_hf.toFixed(3) : "–"),
        cell(`${job.elapsed.toFixed(1)} s`)
      );
      row.addEventListener("click", () => show(job));
      return row;
    })
  );
}

// The A/B switch: one of the players is live; switching moves the position to the other.
let live = "input";

function livePlayer() {
  return $(`player-${live}`);
}

function switchTo(name) {
  const radio = document.querySelector(`input[name=ab][value=${name}]`);
  if (!radio || radio.closest("label").hidden) return;
  const from = livePlayer();
  const to = $(`player-${name}`);
  radio.checked = true;
  live = name;
  if (from === to) return;
  const playing = !from.paused;
  from.pause();
  to.currentTime = Math.min(from.currentTime, Number.isFinite(to.duration) ? to.duration : from.currentTime);
  if (playing) to.play();
}

function togglePlay() {
  const player = livePlayer();
  if (player.paused) player.play();
  else player.pause();
}

function wire() {
  const drop = $("drop");
  $("file-input").addEventListener("change", () => {
    if ($("file-input").files.length) upload($("file-input").files[0]);
    $("file-input").value = "";
  });
  drop.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") $("file-input").click();
  });
  for (const kind of ["dragenter", "dragover"]) {
    drop.addEventListener(kind, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  for (const kind of ["dragleave", "drop"]) {
    drop.addEventListener(kind, () => drop.classList.remove("over"));
  }
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer.files.length) upload(event.dataTransfer.files[0]);
  });
  // A file dropped beside the box would make the browser leave the page for it.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
  $("clip-button").addEventListener("click", useClip);
  $("target").addEventListener("change", refreshPlan);
  $("method").addEventListener("change", refreshPlan);
  $("run").addEventListener("click", run);
  $("ab-play").addEventListener("click", togglePlay);
  for (const radio of document.querySelectorAll("input[name=ab]")) {
    radio.addEventListener("change", () => switchTo(radio.value));
  }
  for (const name of PLAYERS) {
    const player = $(`player-${name}`);
    // Playing one player by its own controls makes it the live one and stops the others.
    player.addEventListener("play", () => {
      for (const other of PLAYERS) if (other !== name) $(`player-${other}`).pause();
      document.querySelector(`input[name=ab][value=${name}]`).checked = true;
      live = name;
      $("ab-play").textContent = "Pause";
    });
    player.addEventListener("pause", () => {
      if (livePlayer().paused) $("ab-play").textContent = "Play";
    });
  }
  document.addEventListener("keydown", (event) => {
    if ($("step-result").hidden || event.target.closest("input, select, button, audio, a")) return;
    const keys = { 1: "input", 2: "output", 3: "reference" };
    if (keys[event.key]) switchTo(keys[event.key]);
    else if (event.key === " ") {
      event.preventDefault();
      togglePlay();
    }
  });
}

async function start() {
  wire();
  try {
    config = await api("/api/config");
  } catch (e) {
    showError(`the app's server did not answer: ${e.message}`);
    return;
  }
  $("version").textContent = config.version;
  $("limit").textContent = `(WAV, FLAC, OGG, MP3, AIFF ...; up to ${config.max_upload_mb} MB)`;
  $("clip-select").replaceChildren(
    ...config.clips.map((c) => option(c.name, `${c.name}: ${c.description.split(",")[0]}, at ${hz(c.sr)} (from ${hz(c.reference_sr)})`))
  );
  setState("idle");
}

start();
