// The deepfake check page: upload a file, follow the job, read the report.
// Plain JavaScript on purpose: no build step, no framework, no network access beyond this server's public API
// (POST /v1/analyze, GET/DELETE /v1/jobs/{id}, GET /v1/jobs/{id}/artifacts/{name}).
"use strict";

(() => {
  const API = "/v1";
  const KEY_STORE = "deepfake.apiKey";
  const RECENT_STORE = "deepfake.recentJobs";
  const RECENT_MAX = 20;
  const SVG_NS = "http://www.w3.org/2000/svg";
  // Okabe–Ito: distinguishable with the common colour-vision deficiencies.
  const TRACK_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];

  // The pipeline's stages in the order they run; unknown stage names are still shown, after the known ones.
  const STAGES = [
    ["uploading", "Uploading"],
    ["queued", "Waiting in the queue"],
    ["starting", "Starting"],
    ["decoding", "Reading the file"],
    ["detecting_faces", "Finding faces"],
    ["scoring_video", "Scoring faces"],
    ["scoring_audio", "Scoring the voice"],
    ["merging", "Writing the report"],
    ["done", "Done"],
  ];

  // Stages that are not steps forward: shown in the status line, placed at the matching step of the list.
  const STAGE_ALIASES = { retrying: ["queued", "Retrying after a problem"] };

  const VERDICTS = {
    fake: { label: "Likely manipulated", icon: "!", cls: "fake" },
    real: { label: "No manipulation detected", icon: "✓", cls: "real" },
    uncertain: { label: "Uncertain", icon: "?", cls: "uncertain" },
    not_applicable: { label: "Could not be assessed", icon: "–", cls: "na" },
  };

  // What the reader can do about an error; the server's own message says what happened.
  const ERROR_ADVICE = {
    file_too_large: "Try a shorter clip or a smaller export of the file.",
    queue_unavailable: "The server cannot take new work right now. Please try again in a minute.",
    service_unavailable: "A part of the server is not answering. Please try again in a minute.",
    unauthorized: "This server needs an API key: enter it under “Settings” above and try again.",
    job_not_found: "Results are kept on the server for a limited time; upload the file again to re-check it.",
    invalid_argument: "Choose a different file.",
    model_unavailable: "The detection model is not installed on this server; ask its administrator.",
  };

  const $ = (id) => document.getElementById(id);
  const state = { job: null, xhr: null, pollTimer: null, pollDelay: 500, objectUrls: [], renderedFor: null, overall: 0 };

  // The job's `progress` is the fraction of its current stage; the processing bar shows the whole run,
  // one equal share per pipeline stage (never moving backwards when decoding and detection interleave).
  const PIPELINE = ["starting", "decoding", "detecting_faces", "scoring_video", "scoring_audio", "merging"];

  function overallProgress(job) {
    if (job.status === "done") return 1;
    const i = PIPELINE.indexOf(job.stage);
    if (job.status !== "running" || i < 0) return state.overall;
    state.overall = Math.max(state.overall, (i + Math.min(1, job.progress || 0)) / PIPELINE.length);
    return state.overall;
  }

  // ---------------------------------------------------------------- small helpers
  function el(tag, attrs = {}, ...children) {
    const node = tag.startsWith("svg:") ? document.createElementNS(SVG_NS, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k === "className") node.setAttribute("class", v);
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  function pick(obj, ...keys) {
    if (!obj) return undefined;
    for (const k of keys) if (obj[k] !== undefined && obj[k] !== null) return obj[k];
    return undefined;
  }

  const pct = (p) => (p === null || p === undefined || Number.isNaN(p) ? "–" : `${Math.round(p * 100)}%`);
  const secs = (s) => (s === undefined || s === null ? "–" : s < 10 ? `${Number(s).toFixed(2)} s` : `${Number(s).toFixed(1)} s`);

  function fmtBytes(n) {
    if (!Number.isFinite(n)) return "–";
    const units = ["bytes", "KB", "MB", "GB"];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
  }

  function fmtClock(t) {
    if (!Number.isFinite(t)) return "–";
    const m = Math.floor(t / 60);
    const s = t - m * 60;
    return m ? `${m}:${s.toFixed(1).padStart(4, "0")}` : `${s.toFixed(1)} s`;
  }

  function apiHeaders() {
    const key = localStorage.getItem(KEY_STORE);
    return key ? { "X-API-Key": key } : {};
  }

  async function api(path, opts = {}) {
    const res = await fetch(API + path, { ...opts, headers: { ...apiHeaders(), ...(opts.headers || {}) } });
    return res;
  }

  // Error bodies are {"error": {"code", "message"}}; anything else (a proxy's HTML page) gets a generic text.
  function errorFromBody(status, text) {
    let code = null;
    let message = null;
    try {
      const body = JSON.parse(text);
      code = pick(body && body.error, "code") || null;
      message = pick(body && body.error, "message") || (typeof body.detail === "string" ? body.detail : null);
    } catch (_) { /* not JSON */ }
    if (!code && status === 413) code = "file_too_large";
    if (!code && status === 415) code = "unsupported_media";
    if (!code && status === 401) code = "unauthorized";
    return { status, code, message };
  }

  // ---------------------------------------------------------------- messages
  function showMessage(kind, title, detail, code) {
    const box = $("message");
    box.className = `message ${kind}`;
    box.replaceChildren(
      el("p", { className: "message-title", text: title }),
      detail ? el("p", { text: detail }) : null,
      code ? el("p", { className: "message-code", text: `Error code: ${code}` }) : null,
    );
    box.hidden = false;
  }

  function hideMessage() {
    $("message").hidden = true;
  }

  function showError(err, context) {
    const title = context === "upload" ? "The file was not accepted" : context === "job" ? "The analysis failed" : "Something went wrong";
    // The server's message as it is (it may start with a file name, so no re-capitalising).
    const said = err.message ? err.message.replace(/\.?$/, ".") : null;
    const advice = (err.code && ERROR_ADVICE[err.code]) || null;
    const text = [said, advice].filter(Boolean).join(" ") || `The server answered with status ${err.status}.`;
    showMessage("error", title, text, err.code);
  }

  // ---------------------------------------------------------------- progress display
  function stageIndex(name) {
    return STAGES.findIndex(([k]) => k === name);
  }

  function renderStages(current, status, skipped = new Set()) {
    const list = $("stages");
    if (STAGE_ALIASES[current]) current = STAGE_ALIASES[current][0];
    let known = STAGES.slice();
    if (current && stageIndex(current) < 0) known.splice(known.length - 2, 0, [current, current.replace(/_/g, " ")]);
    const curIdx = status === "done" ? known.length - 1 : known.findIndex(([k]) => k === current);
    list.replaceChildren(...known.map(([key, label], i) => {
      let st = "pending";
      if (skipped.has(key)) st = "skipped";
      else if (status === "failed" && i === curIdx) st = "failed";
      else if (i < curIdx || (status === "done")) st = "done";
      else if (i === curIdx) st = "current";
      const word = { done: "done", current: "in progress", pending: "", failed: "failed", skipped: "not needed" }[st];
      return el("li", { className: `stage ${st}`, "data-stage": key, "aria-current": st === "current" ? "step" : null },
        el("span", { className: "stage-dot", "aria-hidden": "true" }),
        el("span", { text: label }),
        word ? el("span", { className: "visually-hidden", text: ` (${word})` }) : null);
    }));
  }

  function setBar(id, value) {
    const v = Math.max(0, Math.min(1, value || 0));
    $(id).value = v;
    $(id.replace("-bar", "-pct")).textContent = pct(v);
  }

  function setStatus(text) {
    $("status-line").textContent = text;
  }

  function resetView() {
    stopPolling();
    hideMessage();
    $("report").hidden = true;
    for (const u of state.objectUrls) URL.revokeObjectURL(u);
    state.objectUrls = [];
    state.renderedFor = null;
  }

  // ---------------------------------------------------------------- upload
  function upload(file) {
    resetView();
    if (state.xhr) state.xhr.abort();
    state.job = null;
    state.pollDelay = 500;
    state.overall = 0;
    $("progress-card").hidden = false;
    $("progress-file").textContent = `${file.name} · ${fmtBytes(file.size)}`;
    setBar("upload-bar", 0);
    setBar("job-bar", 0);
    renderStages("uploading", "running");
    setStatus(`Uploading ${file.name}…`);
    $("cancel-btn").hidden = false;

    const form = new FormData();
    form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    state.xhr = xhr;
    xhr.open("POST", `${API}/analyze`);
    for (const [k, v] of Object.entries(apiHeaders())) xhr.setRequestHeader(k, v);
    let lastAnnounced = 0;
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      const f = e.loaded / e.total;
      setBar("upload-bar", f);
      // Announce in steps of 25% so a screen reader is not flooded.
      if (f - lastAnnounced >= 0.25) { lastAnnounced = f; setStatus(`Uploading ${file.name}: ${pct(f)}`); }
    });
    xhr.addEventListener("load", () => {
      state.xhr = null;
      if (xhr.status === 200 || xhr.status === 202) {
        setBar("upload-bar", 1);
        let job;
        try { job = JSON.parse(xhr.responseText); } catch (_) { job = null; }
        if (!job || !job.id) { failUpload({ status: xhr.status, code: null, message: "The server's answer could not be read." }); return; }
        rememberJob(job);
        setHashJob(job.id);
        onJob(job);
      } else {
        failUpload(errorFromBody(xhr.status, xhr.responseText));
      }
    });
    xhr.addEventListener("error", () => { state.xhr = null; failUpload({ status: 0, code: null, message: "The server could not be reached. Check the connection and try again." }); });
    xhr.addEventListener("abort", () => { state.xhr = null; });
    xhr.send(form);
  }

  function failUpload(err) {
    renderStages("uploading", "failed");
    setStatus("Upload rejected.");
    $("cancel-btn").hidden = true;
    showError(err, "upload");
  }

  // ---------------------------------------------------------------- polling
  function stopPolling() {
    if (state.pollTimer) clearTimeout(state.pollTimer);
    state.pollTimer = null;
  }

  function schedulePoll(id) {
    stopPolling();
    state.pollTimer = setTimeout(() => poll(id), state.pollDelay);
    state.pollDelay = Math.min(2000, state.pollDelay * 1.3);
  }

  async function poll(id) {
    let res;
    try {
      res = await api(`/jobs/${encodeURIComponent(id)}`);
    } catch (_) {
      setStatus("Lost contact with the server; retrying…");
      schedulePoll(id);
      return;
    }
    if (!state.job || state.job.id !== id) return; // the user moved on
    if (res.ok) {
      onJob(await res.json());
    } else {
      const err = errorFromBody(res.status, await res.text());
      if (res.status === 404) forgetJob(id);
      $("cancel-btn").hidden = true;
      setStatus("");
      showError(err, "job");
    }
  }

  function onJob(job) {
    state.job = job;
    $("progress-card").hidden = false;
    $("progress-file").textContent = job.filename || $("progress-file").textContent;
    setBar("upload-bar", 1);
    const stage = job.status === "done" ? "done"
      : job.status === "queued" ? (job.stage === "retrying" ? "retrying" : "queued") : job.stage || "starting";
    // Once the report says what the file was, the steps that did not apply to it are shown as not needed.
    const kind = job.report && job.report.media ? job.report.media.kind : null;
    const skipped = new Set(kind === "audio" ? ["detecting_faces", "scoring_video"] : kind === "image" ? ["scoring_audio"] : []);
    renderStages(stage, job.status, skipped);
    setBar("job-bar", overallProgress(job));
    updateRecent(job);
    if (job.status === "queued" || job.status === "running") {
      const label = STAGE_ALIASES[stage] ? STAGE_ALIASES[stage][1]
        : (STAGES.find(([k]) => k === stage) || [stage, stage.replace(/_/g, " ")])[1];
      setStatus(job.status === "running" && job.progress ? `${label}… ${pct(job.progress)} of this step` : `${label}…`);
      $("cancel-btn").hidden = false;
      schedulePoll(job.id);
    } else if (job.status === "done") {
      $("cancel-btn").hidden = true;
      setStatus("Analysis finished.");
      renderReport(job);
    } else if (job.status === "failed") {
      $("cancel-btn").hidden = true;
      setStatus("Analysis failed.");
      showError({ status: null, code: pick(job.error, "code"), message: pick(job.error, "message") }, "job");
    }
  }

  async function openJob(id) {
    resetView();
    state.job = { id };
    state.pollDelay = 500;
    state.overall = 0;
    $("progress-card").hidden = false;
    $("progress-file").textContent = "";
    setStatus("Loading…");
    await poll(id);
  }

  async function cancel() {
    if (state.xhr) {
      state.xhr.abort();
      setStatus("Upload cancelled.");
    } else if (state.job && state.job.id) {
      stopPolling();
      try { await api(`/jobs/${encodeURIComponent(state.job.id)}`, { method: "DELETE" }); } catch (_) { /* gone anyway */ }
      forgetJob(state.job.id);
      setStatus("Analysis cancelled.");
    }
    state.job = null;
    $("cancel-btn").hidden = true;
    setHashJob(null);
  }

  // ---------------------------------------------------------------- recent jobs (this browser only)
  function loadRecent() {
    try { return JSON.parse(localStorage.getItem(RECENT_STORE) || "[]"); } catch (_) { return []; }
  }

  function saveRecent(list) {
    localStorage.setItem(RECENT_STORE, JSON.stringify(list.slice(0, RECENT_MAX)));
    renderRecent();
  }

  function rememberJob(job) {
    const list = loadRecent().filter((j) => j.id !== job.id);
    list.unshift({ id: job.id, filename: job.filename, created_at: job.created_at, status: job.status });
    saveRecent(list);
  }

  function updateRecent(job) {
    const list = loadRecent();
    const item = list.find((j) => j.id === job.id);
    if (!item) return;
    const before = JSON.stringify(item);
    item.status = job.status;
    item.filename = job.filename || item.filename;
    if (job.report) { item.verdict = job.report.verdict; item.score = job.report.score; }
    // Re-render only on a change: rebuilding the list on every poll would steal keyboard focus from it.
    if (JSON.stringify(item) !== before) saveRecent(list);
  }

  function forgetJob(id) {
    saveRecent(loadRecent().filter((j) => j.id !== id));
  }

  function renderRecent() {
    const list = loadRecent();
    $("recent-empty").hidden = list.length > 0;
    $("clear-recent").hidden = list.length === 0;
    $("recent").replaceChildren(...list.map((j) => {
      const v = j.verdict ? VERDICTS[j.verdict] : j.status === "failed" ? { label: "Failed", icon: "×", cls: "failed" } : null;
      const when = j.created_at ? new Date(j.created_at).toLocaleString() : "";
      const what = v ? `${v.label}${typeof j.score === "number" ? ` (${pct(j.score)})` : ""}`
        : { queued: "Waiting", running: "In progress" }[j.status] || "";
      return el("li", {},
        el("button", { type: "button", className: "recent-item", onclick: () => { setHashJob(j.id); openJob(j.id); } },
          el("span", { className: `badge ${v ? v.cls : "pending"}`, text: v ? v.icon : "…", "aria-hidden": "true" }),
          el("span", { className: "recent-name", text: j.filename || j.id }),
          el("span", { className: "recent-meta", text: [what, when].filter(Boolean).join(" · ") })));
    }));
  }

  function setHashJob(id) {
    const url = id ? `#job=${encodeURIComponent(id)}` : location.pathname;
    history.replaceState(null, "", url);
  }

  // ---------------------------------------------------------------- artifacts
  async function artifactUrl(jobId, name) {
    const res = await api(`/jobs/${encodeURIComponent(jobId)}/artifacts/${encodeURIComponent(name)}`);
    if (!res.ok) throw new Error(`artifact ${name}: ${res.status}`);
    const url = URL.createObjectURL(await res.blob());
    state.objectUrls.push(url);
    return url;
  }

  function artifactsOf(report, kind, trackId) {
    return (report.artifacts || []).filter((a) => a.kind === kind && (trackId === undefined || a.track_id === trackId));
  }

  function loadImage(img, jobId, artifact, fallbackText) {
    artifactUrl(jobId, artifact.name)
      .then((url) => { img.src = url; })
      .catch(() => { img.replaceWith(el("p", { className: "help", text: fallbackText })); });
  }

  // ---------------------------------------------------------------- the report
  function renderReport(job) {
    if (state.renderedFor === job.id) return;
    state.renderedFor = job.id;
    const r = job.report || {};
    const section = $("report");
    section.hidden = false;
    renderVerdict(r);
    renderVideo(job.id, r);
    renderAudio(job.id, r);
    renderMedia(r, job);
    renderTimings(r);
    renderModels(r);
    $("download-btn").onclick = () => downloadReport(job);
    section.focus({ preventScroll: false });
  }

  // The uncertainty band: below `low` is "real", above `high` is "fake", in between "uncertain".
  function band(r) {
    const t = r.thresholds || {};
    const low = typeof t.uncertain_low === "number" ? t.uncertain_low : 0.5;
    const high = typeof t.uncertain_high === "number" ? t.uncertain_high : low;
    return { low, high };
  }

  const SECTION_WORDS = { analyzed: "analysed", not_applicable: "nothing to assess", not_available: "not available on this server" };

  function sectionLine(name, sec) {
    if (!sec) return null;
    const word = name === "Faces" && sec.status === "not_applicable" ? "none found" : SECTION_WORDS[sec.status] || sec.status;
    let text = `${name}: ${word}`;
    if (sec.status === "analyzed" && typeof sec.score === "number") text += ` — ${pct(sec.score)} likely fake`;
    if (sec.status !== "analyzed" && sec.reason) text += ` — ${sec.reason}`;
    return text;
  }

  function renderVerdict(r) {
    const v = VERDICTS[r.verdict] || { label: r.verdict || "Unknown", icon: "?", cls: "uncertain" };
    $("verdict").className = `verdict ${v.cls}`;
    $("verdict-icon").textContent = v.icon;
    $("verdict-label").textContent = v.label;
    const score = typeof r.score === "number" ? r.score : null;
    const kind = pick(r.media || {}, "kind");
    const what = kind === "audio" ? "the voice" : kind === "image" ? "a face in the image" : "a face or the voice";
    $("verdict-sub").textContent = score === null
      ? "Nothing in this file could be scored; the reasons are below."
      : `Estimated probability that ${what} is fake: ${pct(score)}`;
    $("meter-wrap").hidden = score === null;
    $("caveat").hidden = score === null;
    const { low, high } = band(r);
    if (score !== null) {
      $("meter-fill").style.width = `${score * 100}%`;
      $("meter-band").style.left = `${low * 100}%`;
      $("meter-band").style.width = `${Math.max(0.6, (high - low) * 100)}%`;
      $("meter").setAttribute("aria-label",
        `Fake probability ${pct(score)}. Below ${pct(low)} counts as real, above ${pct(high)} as fake, in between as uncertain.`);
      $("meter-legend").textContent = low === high
        ? `Scores above ${pct(high)} count as fake.`
        : `Marked band: ${pct(low)}–${pct(high)} counts as uncertain; below is real, above is fake.`;
    }
    const lines = [];
    if (kind !== "audio" || (r.video && r.video.status === "analyzed")) lines.push(sectionLine("Faces", r.video));
    if (kind !== "image") lines.push(sectionLine("Voice", r.audio));
    $("checked").replaceChildren(...lines.filter(Boolean).map((t) => el("li", { text: t })));
    const reasons = (r.reasons || []).map((x) => (typeof x === "string" ? x : JSON.stringify(x)));
    $("reasons").replaceChildren(...reasons.map((x) => el("li", { text: x })));
    $("reasons-block").hidden = reasons.length === 0;
  }

  // Per-track series of {t, score, frame} from the analysed frames.
  function trackSeries(video) {
    const series = new Map();
    for (const f of video.frames || []) {
      for (const face of f.faces || []) {
        if (typeof face.score !== "number") continue;
        if (!series.has(face.track_id)) series.set(face.track_id, []);
        series.get(face.track_id).push({ t: f.time_s, score: face.score, frame: f.index });
      }
    }
    for (const pts of series.values()) pts.sort((a, b) => a.t - b.t);
    return series;
  }

  function colourOf(trackId, order) {
    const i = order.indexOf(trackId);
    return TRACK_COLOURS[(i < 0 ? 0 : i) % TRACK_COLOURS.length];
  }

  const personName = (tid) => `Person ${Number(tid) + 1}`;

  function scoreClass(score, r) {
    if (typeof score !== "number") return "";
    const { low, high } = band(r);
    return score > high ? "high" : score < low ? "low" : "mid";
  }

  function bandLegend(r) {
    const { low, high } = band(r);
    return low === high ? `Dashed line: above ${pct(high)} counts as fake.`
      : `Dashed line: above ${pct(high)} counts as fake. Shaded band: ${pct(low)}–${pct(high)} is uncertain.`;
  }

  function renderVideo(jobId, r) {
    const video = r.video;
    const section = $("video-section");
    const media = r.media || {};
    const isImage = media.kind === "image";
    // An audio file has no faces section at all; a video or image without faces still says so.
    if (!video || (media.kind === "audio" && video.status !== "analyzed")) { section.hidden = true; return; }
    section.hidden = false;
    $("video-title").textContent = isImage ? "Faces in the image" : "Faces in the video";
    const tracks = video.tracks || [];
    const series = trackSeries(video);
    // Tracks that count towards the verdict first (most suspicious first), then the short ones it ignored.
    const ranked = tracks.slice().sort((a, b) => (b.counted - a.counted) || ((b.score ?? 0) - (a.score ?? 0)));
    const order = [...new Set([...ranked.map((t) => t.id), ...series.keys()])];
    const bits = [];
    if (!isImage && video.frames_analyzed) {
      bits.push(`${video.frames_analyzed} frame${video.frames_analyzed === 1 ? "" : "s"} analysed, ${video.frames_with_faces} with a face.`);
    }
    bits.push(order.length ? `${order.length} ${order.length === 1 ? "person" : "people"} found.` : "No face was found, so no face could be assessed.");
    if (video.sampling && video.sampling.mode === "every") bits.push(`Every ${video.sampling.every === 1 ? "" : `${video.sampling.every}${video.sampling.every === 2 ? "nd" : "th"} `}frame was sampled${video.sampling.max_frames ? ` (at most ${video.sampling.max_frames})` : ""}.`);
    if (video.sampling && video.sampling.mode === "frames") bits.push(`${video.sampling.frames} evenly spaced frames were sampled.`);
    $("video-summary").textContent = bits.join(" ");

    const chartWrap = $("timeline-chart");
    const hasSeries = !isImage && [...series.values()].some((p) => p.length > 0);
    $("timeline-figure").hidden = !hasSeries;
    $("frames-details").hidden = !hasSeries;
    state.redrawTimeline = null;
    if (hasSeries) {
      const uncounted = new Set(tracks.filter((t) => t.counted === false).map((t) => t.id));
      const draw = () => drawLineChart(chartWrap, series, order, band(r), media.duration_s, uncounted);
      draw();
      state.redrawTimeline = draw;
      $("timeline-band").textContent = bandLegend(r);
      $("timeline-legend").replaceChildren(...order.map((tid) => {
        const tr = tracks.find((t) => t.id === tid) || {};
        const sw = el("span", { className: "swatch", "aria-hidden": "true" });
        sw.style.background = colourOf(tid, order);
        const note = tr.counted === false ? " (not counted)" : "";
        return el("li", {}, sw, `${personName(tid)}${typeof tr.score === "number" ? ` — ${pct(tr.score)} likely fake` : ""}${note}`);
      }));
      // The same numbers as a table, for screen readers and for people who prefer numbers.
      const rows = [];
      for (const tid of order) for (const p of series.get(tid) || []) rows.push([personName(tid), String(p.frame), fmtClock(p.t), pct(p.score)]);
      $("frames-table").replaceChildren(table(["Person", "Frame", "Time", "Fake probability"], rows));
    }

    const cards = order.map((tid) => {
      const tr = tracks.find((t) => t.id === tid) || {};
      const thumbs = el("div", { className: "thumbs" });
      const face = artifactsOf(r, "face_thumbnail", tid)[0];
      const heat = artifactsOf(r, "heatmap_overlay", tid)[0];
      for (const [art, caption] of [[face, "Face"], [heat, "Model attention"]]) {
        if (!art) continue;
        const img = el("img", { alt: `${caption} of ${personName(tid).toLowerCase()}`, width: 120, height: 120 });
        loadImage(img, jobId, art, `${caption} image unavailable.`);
        thumbs.append(el("figure", { className: "thumb" }, img, el("figcaption", { text: caption })));
      }
      if (!face && !heat) thumbs.append(el("p", { className: "help", text: "No face image was saved for this person." }));
      const facts = [];
      if (typeof tr.faces === "number") facts.push(`found in ${tr.faces} analysed frame${tr.faces === 1 ? "" : "s"}`);
      if (!isImage && typeof tr.first_time_s === "number") facts.push(`seen ${fmtClock(tr.first_time_s)} – ${fmtClock(tr.last_time_s)}`);
      if (tr.counted === false) facts.push("seen too briefly to count towards the verdict (often a detector mistake)");
      const swatch = el("span", { className: "swatch", "aria-hidden": "true" });
      swatch.style.background = colourOf(tid, order);
      return el("article", { className: tr.counted === false ? "track uncounted" : "track" },
        el("h5", {}, hasSeries ? swatch : null, personName(tid)),
        el("p", { className: `track-score ${scoreClass(tr.score, r)}` },
          typeof tr.score === "number" ? `${pct(tr.score)} likely fake` : "not scored"),
        facts.length ? el("p", { className: "help", text: facts.join(" · ") }) : null,
        thumbs);
    });
    $("tracks-block").hidden = cards.length === 0;
    $("tracks").replaceChildren(...cards);
  }

  function renderAudio(jobId, r) {
    const audio = r.audio;
    const section = $("audio-section");
    const kind = (r.media || {}).kind;
    // Images never have audio; a silent video shows the reason in the verdict's "what was checked" list.
    if (!audio || kind === "image" || (kind === "video" && audio.status !== "analyzed")) { section.hidden = true; return; }
    section.hidden = false;
    const segs = (audio.segments || []).filter((s) => typeof s.score === "number");
    const bits = [];
    if (audio.status !== "analyzed") bits.push(`Not analysed${audio.reason ? `: ${audio.reason}` : ` (${SECTION_WORDS[audio.status] || audio.status})`}.`);
    if (typeof audio.score === "number") bits.push(`Overall ${pct(audio.score)} likely synthetic.`);
    if (typeof audio.duration_s === "number") bits.push(`${fmtClock(audio.duration_s)} of audio in ${segs.length} window${segs.length === 1 ? "" : "s"}.`);
    $("audio-summary").textContent = bits.join(" ");
    $("segment-figure").hidden = segs.length === 0;
    $("segments-details").hidden = segs.length === 0;
    state.redrawSegments = null;
    if (segs.length) {
      const total = audio.duration_s || (r.media || {}).duration_s || Math.max(...segs.map((s) => s.end_s));
      $("segment-band").textContent = bandLegend(r);
      const draw = () => drawSegmentChart($("segment-chart"), segs, band(r), total);
      draw();
      state.redrawSegments = draw;
      $("segments-table").replaceChildren(table(["From", "To", "Fake probability"], segs.map((s) => [fmtClock(s.start_s), fmtClock(s.end_s), pct(s.score)])));
    }
    const mel = artifactsOf(r, "mel_spectrogram")[0];
    $("mel-figure").hidden = !mel;
    const img = $("mel-img");
    img.removeAttribute("src");
    if (mel) artifactUrl(jobId, mel.name).then((u) => { img.src = u; }).catch(() => { $("mel-figure").hidden = true; });
  }

  function table(head, rows) {
    return el("table", {},
      el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, rows.map((row) => el("tr", {}, row.map((c) => el("td", { text: c }))))));
  }

  function renderMedia(r, job) {
    const m = r.media || {};
    const facts = [];
    const add = (k, v, cls) => { if (v !== undefined && v !== null && v !== "") facts.push([k, String(v), cls]); };
    add("Name", m.filename || job.filename);
    add("Kind", { video: "Video", image: "Image", audio: "Audio" }[m.kind] || m.kind);
    if (typeof m.size_bytes === "number") add("File size", fmtBytes(m.size_bytes));
    if (typeof m.duration_s === "number") add("Duration", fmtClock(m.duration_s));
    if (m.width && m.height) add("Picture", `${m.width} × ${m.height} px${m.height > m.width ? " (portrait)" : ""}`);
    if (m.rotation) add("Rotation", `${m.rotation}° (applied)`);
    if (typeof m.fps === "number") add("Frame rate", `${m.fps.toFixed(2)} frames/s${m.variable_frame_rate ? " (variable)" : ""}`);
    if (typeof m.frame_count === "number") add("Frames", m.frame_count);
    add(m.kind === "image" ? "Format" : "Video codec", [m.video_codec, m.pixel_format].filter(Boolean).join(", "));
    const audioBits = [m.audio_codec, m.audio_sample_rate ? `${m.audio_sample_rate} Hz` : null,
      m.audio_channels ? `${m.audio_channels} channel${m.audio_channels === 1 ? "" : "s"}` : null].filter(Boolean);
    add("Audio", audioBits.length ? audioBits.join(", ") : m.kind === "video" ? "no audio track" : null);
    add("Container", m.container);
    add("SHA-256", m.sha256, "mono");
    add("Analysed", r.created_at ? new Date(r.created_at).toLocaleString() : null);
    $("media-facts").replaceChildren(...facts.flatMap(([k, v, cls]) => [el("dt", { text: k }), el("dd", { text: v, className: cls })]));
  }

  // Report timing keys in words; an unknown key is shown as it is, with underscores as spaces.
  const STAGE_WORDS = {
    probe: "reading the file's facts", decode: "decoding frames", detect_faces: "finding faces",
    crop_faces: "cropping faces", score_video: "scoring faces", load_audio: "reading the audio",
    score_audio: "scoring the voice", report: "writing the report", artifacts: "making the images",
    load_models: "loading models",
  };

  function renderTimings(r) {
    const entries = Object.entries(r.timings || {}).filter(([, v]) => typeof v === "number");
    if (!entries.length) { $("timings").replaceChildren(el("p", { className: "help", text: "No timings in this report." })); return; }
    const totalEntry = entries.find(([k]) => k === "total" || k === "total_s");
    const parts = entries.filter(([k]) => k !== "total" && k !== "total_s");
    const total = totalEntry ? totalEntry[1] : parts.reduce((a, [, v]) => a + v, 0);
    const max = Math.max(...parts.map(([, v]) => v), 1e-9);
    const list = el("ul", { className: "timing-list" }, parts.map(([k, v]) => {
      const bar = el("span", { className: "timing-bar", "aria-hidden": "true" });
      bar.style.width = `${Math.max(1, (v / max) * 100)}%`;
      const key = k.replace(/_s$/, "");
      const name = STAGE_WORDS[key] || key.replace(/_/g, " ");
      return el("li", {},
        el("span", { className: "timing-name", text: name[0].toUpperCase() + name.slice(1), title: k }),
        el("span", { className: "timing-track" }, bar),
        el("span", { className: "timing-val", text: secs(v) }));
    }));
    $("timings").replaceChildren(list, el("p", { className: "timing-total", text: `Total: ${secs(total)}` }));
  }

  function renderModels(r) {
    const models = [];
    if (r.video && r.video.model) models.push(["Faces (video and images)", r.video.model]);
    if (r.audio && r.audio.model) models.push(["Voice (audio)", r.audio.model]);
    if (!models.length) {
      const used = Object.entries(r.models || {});
      $("models").replaceChildren(used.length
        ? el("dl", { className: "facts" }, used.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]))
        : el("p", { className: "help", text: "No model was needed for this file." }));
      return;
    }
    $("models").replaceChildren(...models.map(([role, m]) => {
      const rows = [];
      const add = (k, v) => { if (v !== undefined && v !== null && v !== "") rows.push(el("dt", { text: k }), el("dd", { text: String(v) })); };
      add("Name", m.name);
      add("Trained on", m.training_data || "not stated by its publisher");
      add("Architecture", m.architecture);
      add("Precision", m.precision);
      add("Version", m.version);
      for (const [k, v] of Object.entries(m.reported_metrics || {})) add(`Reported ${k.replace(/_/g, " ")}`, typeof v === "number" ? v.toFixed(3) : v);
      return el("div", { className: "model" }, el("h4", { text: role }), el("dl", { className: "facts" }, rows));
    }));
  }

  function downloadReport(job) {
    const blob = new Blob([JSON.stringify(job.report, null, 2) + "\n"], { type: "application/json" });
    const url = URL.createObjectURL(blob);
    const base = (job.filename || job.id).replace(/\.[^.]+$/, "").replace(/[^\w.-]+/g, "_");
    const a = el("a", { href: url, download: `${base}.deepfake-report.json` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  // ---------------------------------------------------------------- charts (inline SVG)
  function axes(svg, W, H, pad, xMax, xLabel, bandRange) {
    const x = (t) => pad.l + (t / (xMax || 1)) * (W - pad.l - pad.r);
    const y = (p) => pad.t + (1 - p) * (H - pad.t - pad.b);
    const { low, high } = bandRange;
    if (high > low) svg.append(el("svg:rect", { x: pad.l, width: W - pad.l - pad.r, y: y(high), height: y(low) - y(high), className: "band" }));
    for (const p of [0, 0.25, 0.5, 0.75, 1]) {
      svg.append(el("svg:line", { x1: pad.l, x2: W - pad.r, y1: y(p), y2: y(p), className: "grid" }));
      svg.append(el("svg:text", { x: pad.l - 6, y: y(p) + 4, "text-anchor": "end", className: "tick", text: `${p * 100}%` }));
    }
    const step = niceStep(xMax, Math.max(2, Math.floor((W - pad.l - pad.r) / 70)));
    for (let t = 0; t <= xMax + 1e-9; t += step) {
      svg.append(el("svg:line", { x1: x(t), x2: x(t), y1: H - pad.b, y2: H - pad.b + 4, className: "axis" }));
      svg.append(el("svg:text", { x: x(t), y: H - pad.b + 16, "text-anchor": "middle", className: "tick", text: `${+t.toFixed(2)}` }));
    }
    svg.append(el("svg:line", { x1: pad.l, x2: W - pad.r, y1: H - pad.b, y2: H - pad.b, className: "axis" }));
    svg.append(el("svg:line", { x1: pad.l, x2: pad.l, y1: pad.t, y2: H - pad.b, className: "axis" }));
    svg.append(el("svg:text", { x: (pad.l + W - pad.r) / 2, y: H - 4, "text-anchor": "middle", className: "axis-label", text: xLabel }));
    svg.append(el("svg:line", { x1: pad.l, x2: W - pad.r, y1: y(high), y2: y(high), className: "threshold" }));
    return { x, y };
  }

  function niceStep(range, maxTicks) {
    const raw = (range || 1) / maxTicks;
    const mag = 10 ** Math.floor(Math.log10(raw));
    for (const m of [1, 2, 5, 10]) if (m * mag >= raw) return m * mag;
    return 10 * mag;
  }

  function svgRoot(wrap, H, label) {
    const W = Math.max(280, Math.round(wrap.clientWidth || 600));
    const svg = el("svg:svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img", "aria-label": label });
    wrap.replaceChildren(svg);
    return { svg, W };
  }

  function drawLineChart(wrap, series, order, bandRange, duration, uncounted) {
    const all = [...series.values()].flat();
    const n = all.length;
    const label = `Chart of fake probability over time for ${series.size} ${series.size === 1 ? "person" : "people"}; ${n} scored faces; the highest is ${pct(Math.max(...all.map((p) => p.score)))}.`;
    const H = 240;
    const { svg, W } = svgRoot(wrap, H, label);
    const pad = { l: 44, r: 12, t: 12, b: 38 };
    const xMax = Math.max(duration || 0, ...all.map((p) => p.t), 0.001);
    const { x, y } = axes(svg, W, H, pad, xMax, "time in the video (seconds)", bandRange);
    for (const tid of order) {
      const pts = series.get(tid) || [];
      if (!pts.length) continue;
      const colour = colourOf(tid, order);
      if (pts.length > 1) {
        const d = pts.map((p, i) => `${i ? "L" : "M"}${x(p.t).toFixed(1)},${y(p.score).toFixed(1)}`).join("");
        svg.append(el("svg:path", {
          d, fill: "none", stroke: colour, "stroke-width": 2, "stroke-linejoin": "round", className: "series",
          "stroke-dasharray": uncounted.has(tid) ? "5 4" : null,
        }));
      }
      for (const p of pts) {
        const c = el("svg:circle", { cx: x(p.t), cy: y(p.score), r: pts.length > 60 ? 2 : 3.5, fill: colour });
        c.append(el("svg:title", { text: `${personName(tid)}, frame ${p.frame} at ${fmtClock(p.t)}: ${pct(p.score)}` }));
        svg.append(c);
      }
    }
  }

  function drawSegmentChart(wrap, segs, bandRange, total) {
    const label = `Chart of fake probability for ${segs.length} audio segments; the highest is ${pct(Math.max(...segs.map((s) => s.score ?? 0)))}.`;
    const H = 200;
    const { svg, W } = svgRoot(wrap, H, label);
    const pad = { l: 44, r: 12, t: 12, b: 38 };
    const xMax = Math.max(total || 0, ...segs.map((s) => s.end_s), 0.001);
    const { x, y } = axes(svg, W, H, pad, xMax, "time in the recording (seconds)", bandRange);
    // Windows overlap (hop < window), so each is a thick bar at its score rather than a filled column.
    segs.forEach((s, i) => {
      const r = el("svg:line", {
        x1: x(s.start_s) + 2, x2: Math.max(x(s.start_s) + 3, x(s.end_s) - 2),
        // Lift near-zero bars off the axis line so they stay visible.
        y1: Math.min(y(s.score), y(0) - 4), y2: Math.min(y(s.score), y(0) - 4),
        className: `seg ${s.score > bandRange.high ? "high" : s.score < bandRange.low ? "low" : "mid"}${i % 2 ? " alt" : ""}`,
      });
      r.append(el("svg:title", { text: `${fmtClock(s.start_s)} – ${fmtClock(s.end_s)}: ${pct(s.score)}` }));
      svg.append(r);
    });
  }

  // ---------------------------------------------------------------- wiring
  function init() {
    const input = $("file-input");
    const zone = $("dropzone");
    input.addEventListener("change", () => { if (input.files && input.files[0]) upload(input.files[0]); input.value = ""; });
    // Dropping a file anywhere on the page must not navigate away from it.
    for (const ev of ["dragover", "drop"]) document.addEventListener(ev, (e) => e.preventDefault());
    zone.addEventListener("dragenter", (e) => { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", (e) => { if (!zone.contains(e.relatedTarget)) zone.classList.remove("over"); });
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      const f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
      if (f) upload(f);
    });
    const key = $("api-key");
    key.value = localStorage.getItem(KEY_STORE) || "";
    key.addEventListener("change", () => {
      if (key.value.trim()) localStorage.setItem(KEY_STORE, key.value.trim());
      else localStorage.removeItem(KEY_STORE);
    });
    $("cancel-btn").addEventListener("click", cancel);
    $("again-btn").addEventListener("click", () => {
      resetView();
      $("progress-card").hidden = true;
      setHashJob(null);
      window.scrollTo(0, 0);
      $("file-input").focus();
    });
    $("clear-recent").addEventListener("click", () => saveRecent([]));
    let resizeTimer = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => {
        if ($("report").hidden) return;
        if (state.redrawTimeline && !$("video-section").hidden) state.redrawTimeline();
        if (state.redrawSegments && !$("audio-section").hidden) state.redrawSegments();
      }, 150);
    });
    renderRecent();
    const m = /job=([^&]+)/.exec(location.hash);
    if (m) openJob(decodeURIComponent(m[1]));
  }

  document.addEventListener("DOMContentLoaded", init);
})();
