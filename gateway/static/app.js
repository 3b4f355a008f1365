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
    ["checking_provenance", "Reading content credentials"],
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

  // The job's `progress` is the whole run's share done (the worker places each stage on its span of
  // shared/stages.py); the bar never moves backwards, also not when a stale poll answers late.
  function overallProgress(job) {
    if (job.status === "done") return 1;
    if (job.status !== "running" || typeof job.progress !== "number") return state.overall;
    state.overall = Math.max(state.overall, Math.min(1, job.progress));
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

  // replaceChildren with the nulls of optional parts left out (a null child would show as the text "null").
  function fill(node, ...children) {
    node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
    return node;
  }

  function pick(obj, ...keys) {
    if (!obj) return undefined;
    for (const k of keys) if (obj[k] !== undefined && obj[k] !== null) return obj[k];
    return undefined;
  }

  const pct = (p) => (p === null || p === undefined || Number.isNaN(p) ? "–" : `${Math.round(p * 100)}%`);
  // A band's bound as a percentage that never rounds onto 0% or 100% when it is not (a measured fake point
  // of 0.999906 is "99.99%", not "100%": "fake above 100%" would mean nothing is ever fake).
  function pctBound(p) {
    if (typeof p !== "number" || Number.isNaN(p)) return "–";
    if (p > 0 && p < 0.01) return `${Number((p * 100).toPrecision(2))}%`;
    let d = 0;
    while (d < 6 && p < 1 && Math.round(p * 100 * 10 ** d) / 10 ** d >= 100) d += 1;
    return `${(p * 100).toFixed(d)}%`;
  }
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
    fill(box,
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
    state.stageHigh = -1;
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
    // Kinds of evidence run side by side, so the job's stage can name an earlier step again (frames still
    // decoding while the voice is scored): the list shows the furthest step reached and never goes back;
    // the status line below names the stage being reported now.
    const idx = stageIndex(stage);
    if (job.status === "running" && idx >= 0) state.stageHigh = Math.max(state.stageHigh ?? -1, idx);
    const shown = job.status === "running" && idx >= 0 && idx < state.stageHigh ? STAGES[state.stageHigh][0] : stage;
    renderStages(shown, job.status, skipped);
    setBar("job-bar", overallProgress(job));
    updateRecent(job);
    if (job.status === "queued" || job.status === "running") {
      const label = STAGE_ALIASES[stage] ? STAGE_ALIASES[stage][1]
        : (STAGES.find(([k]) => k === stage) || [stage, stage.replace(/_/g, " ")])[1];
      setStatus(job.status === "running" && job.progress ? `${label}… ${pct(state.overall)} done` : `${label}…`);
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
    state.stageHigh = -1;
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
    renderEvidence(r);
    renderVerdict(r);
    renderVideo(job.id, r);
    renderAudio(job.id, r);
    renderProvenance(r);
    renderLips(r);
    renderMedia(r, job);
    renderTimings(r);
    renderModels(r);
    $("download-btn").onclick = () => downloadReport(job);
    if ($("print-btn")) $("print-btn").onclick = () => window.print();
    section.focus({ preventScroll: false });
  }

  // The kinds of evidence the page knows, in report order: the report section each detector writes and
  // the panel that shows it (a detector's `page_panel`). A section the page does not know still gets a
  // line in "What each check found" (see evidenceSections).
  const EVIDENCE = [
    { section: "video", panel: "faces", name: "Faces" },
    { section: "audio", panel: "voice", name: "Voice" },
    { section: "provenance", panel: "provenance", name: "Content credentials" },
    { section: "lips", panel: "lips", name: "Lips and voice" },
    { section: "generated", panel: "generated", name: "Generated picture" },
  ];

  // A section's band counts only when its verdict used it: a section that judged nothing shows none.
  function usedBand(sec) {
    if (!sec || sec.status !== "analyzed" || !sec.band || sec.verdict === "not_applicable") return null;
    const low = sec.band.uncertain_low;
    const high = sec.band.uncertain_high;
    return typeof low === "number" && typeof high === "number" ? { ...sec.band, low, high } : null;
  }

  // The sections to explain for this file: a kind that does not apply to the media kind (faces in a voice
  // recording, voice in a picture) is left out; every other section is listed, judged or not.
  function evidenceSections(r) {
    const kind = (r.media || {}).kind;
    const known = new Set(EVIDENCE.map((e) => e.section));
    const extra = Object.entries(r)
      .filter(([k, v]) => !known.has(k) && v && typeof v === "object" && "verdict" in v && "status" in v)
      .map(([k]) => ({ section: k, panel: null, name: k[0].toUpperCase() + k.slice(1).replace(/_/g, " ") }));
    return [...EVIDENCE, ...extra].filter((e) => {
      const sec = r[e.section];
      if (!sec) return false;
      if (e.section === "video" && kind === "audio" && sec.status !== "analyzed") return false;
      if (e.section === "audio" && kind === "image") return false;
      if (e.section === "generated" && kind !== "image") return false; // still pictures only, for now
      if (e.section === "lips" && kind !== "video") return false; // lips need a moving face and a voice
      return true;
    });
  }

  const SECTION_WORDS = { analyzed: "analysed", not_applicable: "nothing to assess", not_available: "not available on this server" };

  // A section's outcome in words: its verdict when it judged, else why it did not.
  function outcomeOf(e, sec) {
    if (sec.status === "analyzed" && sec.verdict && sec.verdict !== "not_applicable") {
      const v = VERDICTS[sec.verdict] || { label: sec.verdict, icon: "?", cls: "uncertain" };
      return { ...v, judged: true };
    }
    let label;
    if (e.section === "provenance" && sec.status === "analyzed") {
      // intact credentials are a finding too: "nothing found" beside them would contradict the panel
      label = sec.c2pa && ["valid", "trusted"].includes(sec.c2pa.state) ? "Signed, no AI declared" : "Nothing found";
    }
    else if (e.section === "video" && sec.status === "not_applicable") label = "No face found";
    else label = (SECTION_WORDS[sec.status] || sec.status || "not analysed").replace(/^./, (c) => c.toUpperCase());
    return { label, icon: "–", cls: "na", judged: false };
  }

  function bandText(b) {
    const where = b.source === "model_card" ? "operating point measured for this model" : "configured band";
    if (b.low === b.high) return `Band used: fake above ${pctBound(b.high)}, real below (${where}).`;
    return `Band used: real below ${pctBound(b.low)}, uncertain ${pctBound(b.low)}–${pctBound(b.high)}, fake above ${pctBound(b.high)} (${where}).`;
  }

  function ratesText(b, section) {
    const bits = [];
    const pictures = section === "generated";
    if (typeof b.false_alarm_rate === "number") bits.push(pictures ? `calls ${pct(b.false_alarm_rate)} of real photos generated` : `calls ${pct(b.false_alarm_rate)} of real recordings fake`);
    if (typeof b.catch_rate === "number") bits.push(pictures ? `catches ${pct(b.catch_rate)} of generated pictures` : `catches ${pct(b.catch_rate)} of fakes`);
    return bits.length ? `Measured at this band: ${bits.join(", ")}.` : null;
  }

  // A probability bar with the band hatched: where the score falls against the band its verdict used.
  function meter(score, b, label) {
    const fill = el("div", { className: "meter-fill" });
    fill.style.width = `${score * 100}%`;
    const bandEl = el("div", { className: "meter-band" });
    bandEl.style.left = `${b.low * 100}%`;
    bandEl.style.width = `${Math.max(0.6, (b.high - b.low) * 100)}%`;
    return el("div", { className: "meter-wrap" },
      el("div", {
        className: "meter", role: "img",
        "aria-label": `${label}: fake probability ${pct(score)}. Below ${pct(b.low)} counts as real, above ${pct(b.high)} as fake, in between as uncertain.`,
      }, bandEl, fill),
      el("div", { className: "meter-scale", "aria-hidden": "true" }, el("span", { text: "0% · real" }), el("span", { text: "100% · fake" })));
  }

  // The report's plain-language finding for a section (shared/findings.py), when the report has findings.
  function findingOf(r, section) {
    return (r.findings || []).find((f) => f.section === section) || null;
  }

  const capital = (t) => String(t).replace(/^./, (c) => c.toUpperCase());

  function findingParts(f) {
    const parts = [el("p", { className: "evidence-finding", text: capital(f.headline) })];
    if (f.score_position) parts.push(el("p", { className: "evidence-score", text: capital(f.score_position) }));
    if (f.based_on) parts.push(el("p", { className: "help evidence-basis", text: `Based on ${f.based_on}.` }));
    if (f.does_not_prove) parts.push(el("p", { className: "help evidence-limits", text: `What it does not prove: ${f.does_not_prove}.` }));
    return parts;
  }

  function renderEvidence(r) {
    const items = evidenceSections(r).map((e) => {
      const sec = r[e.section];
      const out = outcomeOf(e, sec);
      const b = usedBand(sec);
      const f = findingOf(r, e.section);
      const parts = f ? findingParts(f) : [];
      if (typeof sec.score === "number" && sec.status === "analyzed") {
        const model = sec.model && sec.model.name ? ` · model ${sec.model.name}` : "";
        // A finding says where the score falls in its band; a bare "% likely fake" could contradict the verdict.
        if (!f) parts.push(el("p", { className: "evidence-score", text: `${pct(sec.score)} likely fake${model}` }));
        else if (model) parts.push(el("p", { className: "help", text: capital(model.replace(" · ", "")) }));
        if (b) parts.push(meter(sec.score, b, e.name));
      }
      if (b) {
        parts.push(el("p", { className: "evidence-band", text: bandText(b) }));
        if (b.description) parts.push(el("p", { className: "help evidence-band-description", text: b.description.replace(/^./, (c) => c.toUpperCase()) }));
        const rates = ratesText(b, e.section);
        if (rates) parts.push(el("p", { className: "help", text: rates }));
      }
      if (e.section === "generated" && sec.status === "analyzed") {
        // a signal, not proof: what was judged, and what the score cannot say
        for (const note of sec.notes || []) parts.push(el("p", { className: "help", text: note.replace(/^./, (c) => c.toUpperCase()) }));
        parts.push(el("p", { className: "help", text: "A whole-picture signal, not proof: it was measured on a small set of pictures and misses most generated ones; Content Credentials that declare AI generation are stronger evidence." }));
      }
      if (f) {
        // the finding already says it
      } else if (e.section === "provenance" && sec.status === "analyzed") {
        parts.push(el("p", { className: "help", text: PROVENANCE_EVIDENCE[sec.evidence] || "" }));
      } else if (!out.judged && sec.reason) {
        parts.push(el("p", { className: "help", text: sec.reason.replace(/^./, (c) => c.toUpperCase()) }));
      }
      return el("li", { className: `evidence ${out.cls}`, "data-section": e.section, "data-panel": e.panel },
        el("div", { className: "evidence-head" },
          el("span", { className: `badge ${out.cls}`, "aria-hidden": "true", text: out.icon }),
          el("h4", { text: f ? f.label : e.name }),
          el("span", { className: "evidence-verdict", text: out.label })),
        parts);
    });
    $("evidence-list").replaceChildren(...items);
  }

  function renderVerdict(r) {
    const v = VERDICTS[r.verdict] || { label: r.verdict || "Unknown", icon: "?", cls: "uncertain" };
    $("verdict").className = `verdict ${v.cls}`;
    $("verdict-icon").textContent = v.icon;
    $("verdict-label").textContent = v.label;
    const score = typeof r.score === "number" ? r.score : null;
    const sub = [];
    if (r.verdict === "not_applicable") sub.push("Nothing in this file could be judged; the reasons are below.");
    const findings = r.findings || [];
    if (findings.length) {
      // The findings the verdict rests on, in the report's words (no bare probability to contradict it).
      const basis = findings.filter((f) => (r.verdict_rests_on || []).includes(f.evidence));
      if (basis.length) sub.push(`Rests on: ${basis.map((f) => `${f.label.toLowerCase()}, ${f.headline}`).join("; ")}.`);
    } else {
      if (score !== null) sub.push(`Highest fake probability among the checks: ${pct(score)}.`);
      // Which checks gave this verdict: the reader can see each one's own score and band above.
      const from = evidenceSections(r).filter((e) => {
        const sec = r[e.section];
        return sec.status === "analyzed" && sec.verdict === r.verdict && r.verdict !== "not_applicable";
      });
      if (from.length) sub.push(`Given by: ${from.map((e) => e.name.toLowerCase()).join(", ")} (see above).`);
    }
    $("verdict-sub").textContent = sub.join(" ");
    const summary = $("verdict-summary");
    if (summary) {
      summary.textContent = r.summary || "";
      summary.hidden = !r.summary;
    }
    const printed = $("print-facts");
    if (printed) {
      // Only on paper: which file, when, by which tool, so a forwarded printout stands on its own.
      const m = r.media || {};
      printed.textContent = `${m.filename || ""} · sha256 ${m.sha256 || "?"} · analysed ${r.created_at || "?"} · tool ${r.tool_version || "?"}, report ${r.schema_version || "?"}`;
    }
    $("caveat").hidden = score === null; // it is about model scores: none, nothing to caveat
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

  // A person's result: their own verdict in words and the score it came from (never "% likely fake",
  // which reads as a verdict of its own and could contradict the one beside it).
  const TRACK_WORDS = { fake: "likely swapped or altered", real: "no sign of a swapped face", uncertain: "no conclusion" };
  function trackWords(tr) {
    const words = TRACK_WORDS[tr.verdict] || "scored";
    return `${words}, score ${Number(tr.score).toFixed(2)}`;
  }

  // A track carries its own verdict (judged against the video section's band): colour follows it.
  const VERDICT_CLASS = { fake: "high", real: "low", uncertain: "mid" };

  function bandLegend(b) {
    if (!b) return "";
    return b.low === b.high ? `Dashed line: above ${pctBound(b.high)} counts as fake.`
      : `Dashed line: above ${pctBound(b.high)} counts as fake. Shaded band: ${pctBound(b.low)}–${pctBound(b.high)} is uncertain.`;
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
      const draw = () => drawLineChart(chartWrap, series, order, usedBand(video), media.duration_s, uncounted);
      draw();
      state.redrawTimeline = draw;
      $("timeline-band").textContent = bandLegend(usedBand(video));
      $("timeline-legend").replaceChildren(...order.map((tid) => {
        const tr = tracks.find((t) => t.id === tid) || {};
        const sw = el("span", { className: "swatch", "aria-hidden": "true" });
        sw.style.background = colourOf(tid, order);
        const note = tr.counted === false ? " (not counted)" : "";
        return el("li", {}, sw, `${personName(tid)}${typeof tr.score === "number" ? ` — ${trackWords(tr)}` : ""}${note}`);
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
        el("p", { className: `track-score ${VERDICT_CLASS[tr.verdict] || ""}` },
          typeof tr.score === "number" ? trackWords(tr) : "not scored"),
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
    // Images never have audio; a silent video shows the reason under "What each check found".
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
      $("segment-band").textContent = bandLegend(usedBand(audio));
      const draw = () => drawSegmentChart($("segment-chart"), segs, usedBand(audio), total);
      draw();
      state.redrawSegments = draw;
      $("segments-table").replaceChildren(table(["From", "To", "Fake probability"], segs.map((s) => [fmtClock(s.start_s), fmtClock(s.end_s), pct(s.score)])));
    }
    const mel = artifactsOf(r, "mel_spectrogram")[0];
    $("mel-figure").hidden = !mel;
    fill($("mel-caption"), el("strong", { text: "Log-mel power spectrogram" }), ` ${melCaption(audio, r.media || {})}`);
    const img = $("mel-img");
    img.removeAttribute("src");
    if (mel) artifactUrl(jobId, mel.name).then((u) => { img.src = u; }).catch(() => { $("mel-figure").hidden = true; });
  }

  // What the picture is (shared/media/render.py: mel_spectrogram_image): the analysed audio only, which
  // is at most the server's max_audio_seconds from the start of the file.
  function melCaption(audio, media) {
    const analysed = typeof audio.duration_s === "number" ? audio.duration_s : null;
    const whole = typeof media.duration_s === "number" ? media.duration_s : null;
    let what = "the analysed audio";
    if (analysed !== null && whole !== null && whole - analysed > 0.5) {
      what = `the first ${fmtClock(analysed)} of the file's ${fmtClock(whole)} of audio (the part analysed; this server analyses at most that much)`;
    } else if (analysed !== null) {
      what = `the ${fmtClock(analysed)} of audio analysed`;
    }
    return `of ${what}: time runs left to right, pitch bottom to top on 80 mel ` +
      "frequency bands (low frequencies at the bottom), and brighter means more energy, the loudest 80 dB shown " +
      "(25 ms windows every 10 ms). It is a picture of the sound that was scored, not a map of what the model found suspicious.";
  }

  // ---------------------------------------------------------------- content credentials (provenance)
  // What each C2PA state means, in plain words (shared/provenance/section.py: C2paState).
  const C2PA_STATES = {
    none: { label: "No content credentials", cls: "na",
      means: "The file carries no signed record of where it came from. Most files have none (few tools sign their output and many sites strip it), so this proves nothing either way." },
    // Neutral, not green: intact credentials from an unverified signer say nothing about who made the file.
    valid: { label: "Signed and intact (signer not verified)", cls: "na",
      means: "The credentials' signature and hashes check out: the file has not changed since it was signed. The signer is not verified against a trust list (anyone can make a signing certificate), so this does not show who signed it." },
    trusted: { label: "Signed, intact and from a trusted signer", cls: "real",
      means: "The file has not changed since it was signed, and the signer's certificate chains to the trust list this server is configured with." },
    invalid: { label: "Broken: changed after signing or bad signature", cls: "fake",
      means: "Validation failed: the content changed after it was signed, or the signature does not match what was signed. The credentials cannot be relied on, and the failure itself is a sign of tampering." },
    remote: { label: "Stored elsewhere, not fetched", cls: "na",
      means: "The file only points to credentials at a web address. This server does not fetch them, so nothing was checked." },
    unreadable: { label: "Present but unreadable", cls: "uncertain",
      means: "The file contains content credentials that could not be read (damaged, cut short, malformed or too large), so nothing was checked." },
  };

  // What a validation code says (C2PA specification's status codes); unknown codes are shown as they are.
  const C2PA_CODES = {
    "signingCredential.untrusted": "the signer is not on a trust list configured on this server",
    "signingCredential.trusted": "the signer is on this server's trust list",
    "signingCredential.expired": "the signing certificate had expired",
    "signingCredential.revoked": "the signing certificate was revoked",
    "signingCredential.invalid": "the signing certificate is not valid for signing",
    "claimSignature.mismatch": "the signature does not match the claim: the manifest was altered or forged",
    "claimSignature.missing": "the claim has no signature",
    "assertion.dataHash.mismatch": "the content changed after signing",
    "assertion.bmffHash.mismatch": "the content changed after signing",
    "assertion.boxesHash.mismatch": "the content changed after signing",
    "assertion.hashedURI.mismatch": "an assertion was altered after signing",
    "assertion.missing": "an assertion the claim lists is missing",
    "manifest.missing": "a manifest the file refers to is missing",
  };

  // IPTC digital source types (the IPTC "digitalsourcetype" NewsCodes), by their short names.
  const SOURCE_TYPES = {
    trainedAlgorithmicMedia: "made by generative AI",
    compositeWithTrainedAlgorithmicMedia: "edited or combined with generative AI",
    algorithmicMedia: "made by an algorithm",
    compositeSynthetic: "a composite with synthetic parts",
    digitalCapture: "captured by a camera or recorder",
    negativeFilm: "scanned from a film negative",
    positiveFilm: "scanned from film",
    print: "scanned from a print",
    minorHumanEdits: "a capture with minor human edits",
    compositeCapture: "a composite of captures",
    algorithmicallyEnhanced: "a capture enhanced by an algorithm",
    digitalCreation: "created digitally by a person",
    dataDrivenMedia: "generated from data",
    screenCapture: "a screen capture",
    virtualRecording: "a recording of a virtual scene",
    composite: "a composite",
  };

  const PROVENANCE_EVIDENCE = {
    synthetic_declared: "The file declares that it was made with generative AI (signed content credentials or a generator's watermark): strong evidence of synthetic media.",
    tampered: "Content credentials are present but fail validation: evidence of tampering, not of what the file shows.",
    generator_metadata: "Unsigned metadata names a generator or declares AI: an indication, not proof (metadata is easy to copy, forge or strip).",
    none: "No provenance evidence. Most real and most fake files carry none, so absence says nothing about this file.",
  };

  const FINDING_KINDS = {
    generator: "names a generator", ai_declared: "declares AI-made content", editor: "names an editing program",
    encoder: "names an encoder or muxer", software: "names a program", capture_device: "names a camera or phone",
    declared_source: "declares how it was made",
  };

  const METADATA_SOURCES = { png_text: "PNG text chunk", exif: "EXIF", xmp: "XMP", iptc: "IPTC", container: "container tag" };

  function factList(rows) {
    const kept = rows.filter(([, v]) => v !== undefined && v !== null && v !== "");
    return el("dl", { className: "facts" }, kept.flatMap(([k, v, cls]) => [el("dt", { text: k }), el("dd", { text: String(v), className: cls })]));
  }

  function actionItem(a) {
    const bits = [a.action];
    if (a.digital_source_type) bits.push(`source: ${SOURCE_TYPES[a.digital_source_type] || a.digital_source_type}`);
    if (a.software_agent) bits.push(`by ${a.software_agent}`);
    if (a.in_ingredient) bits.push("in an ingredient's credentials");
    return el("li", { className: a.ai ? "action ai" : "action" },
      a.ai ? el("span", { className: "tag ai", text: "AI-declared" }) : null,
      el("span", { className: "action-text", text: bits.join(" · ") }),
      a.digital_source_type ? el("span", { className: "mono help", text: ` (${a.digital_source_type})` }) : null);
  }

  function findingItem(f) {
    const where = `${METADATA_SOURCES[f.source] || f.source} “${f.key}”`;
    return el("li", { className: `finding ${f.kind}` },
      el("p", { className: "finding-head" },
        el("strong", { text: where }), ` ${FINDING_KINDS[f.kind] || f.kind}`,
        f.generator ? `: ${f.generator}` : ""),
      el("p", { className: "finding-value mono", text: f.value }),
      el("p", { className: "help" }, el("strong", { text: "Means: " }), f.means),
      el("p", { className: "help" }, el("strong", { text: "Does not mean: " }), f.does_not_mean));
  }

  function watermarkItem(w) {
    return el("li", {},
      el("strong", { text: w.name }), ` — embedded by ${w.generator}; message “${w.message}”, `,
      `${w.bit_errors} of ${w.bits} bits differ (${w.method}, ${w.channel_order.toUpperCase()} order).`);
  }

  // ---------------------------------------------------------------- lips against voice (shared/evidence/lips)
  // Built here rather than in index.html so the panel is one additive block; placed after the credentials.
  function renderLips(r) {
    const l = r.lips;
    let section = $("lips-section");
    if (!l) { if (section) section.hidden = true; return; }
    if (!section) {
      section = el("section", { id: "lips-section", className: "card", "data-panel": "lips" });
      const after = $("provenance-section");
      after.parentNode.insertBefore(section, after.nextSibling);
    }
    section.hidden = false;
    const words = {
      real: "The lips on screen move with the voice.",
      fake: "The lips on screen do not follow the voice: the voice may not belong to this face.",
      uncertain: "The lips follow the voice only weakly: not enough to say either way.",
    };
    // analyzed without a verdict happens with SyncNet (no measured point): its reason says so
    const summary = l.status === "analyzed" && words[l.verdict] ? words[l.verdict] : `No verdict: ${l.reason || SECTION_WORDS[l.status] || l.status}`;
    const offset = typeof l.offset_ms === "number"
      ? `${Math.abs(l.offset_ms)} ms ${l.offset_ms >= 0 ? "after" : "before"} the picture` : null;
    fill(section,
      el("h3", { text: "Lips and voice" }),
      el("p", { className: "help", text: "Whether the mouth of the person on screen opens and closes with the speech. "
        + "A lip-synced fake moves the mouth to the voice and passes this check; a good match does not prove either is genuine." }),
      el("p", { className: "provenance-summary", text: summary }),
      factList([
        ["Speaker", typeof l.speaker_track === "number" ? `face ${l.speaker_track}` : null],
        ["Sound lines up best", offset],
        ["Match above chance", typeof l.sync === "number" ? `${l.sync.toFixed(1)} (0 = no better than chance)` : null],
        ["SyncNet confidence", typeof l.confidence === "number" ? `${l.confidence.toFixed(2)} (its authors' measure; no measured point to judge it by)` : null],
        ["Speech with the face visible", typeof l.speech_s === "number"
          ? `${l.speech_s.toFixed(1)} s${typeof l.min_speech_s === "number" ? ` (a verdict needs ${l.min_speech_s} s)` : ""}` : null],
        ["Score", typeof l.score === "number" ? `${l.score.toFixed(3)} (higher: lips and voice disagree)` : null],
      ]),
      l.curve ? el("div", { className: "chart lips-chart", id: "lips-chart" }) : null,
      l.curve ? el("p", { className: "help lips-legend" },
        el("span", { className: "key-mouth", text: "Solid line: how open the mouth is. " }),
        el("span", { className: "key-voice", text: `Dashed line: how loud the voice is${l.curve.offset_ms ? `, moved by ${l.curve.offset_ms} ms to where it lines up best` : ""}. ` }),
        "When the lips follow the voice, the two rise and fall together.") : null,
      el("ul", {}, ...(l.tracks || []).filter((t) => t.reason).map((t) => el("li", { text: `Face ${t.track_id}: ${t.reason}` }))));
    if (l.curve) drawLipsChart($("lips-chart"), l.curve);
  }

  // The speaker's mouth opening against the voice's loudness (both 0..1 over the plot), on the frames' times.
  function drawLipsChart(wrap, c) {
    const n = c.times_s.length;
    const label = `Chart of the speaker's mouth opening and the voice's loudness at ${n} moments: when the lips follow the voice, the two lines rise and fall together.`;
    const H = 180;
    const { svg, W } = svgRoot(wrap, H, label);
    const pad = { l: 12, r: 12, t: 10, b: 38 };
    const t0 = c.times_s[0];
    const t1 = c.times_s[n - 1];
    const x = (t) => pad.l + ((t - t0) / Math.max(t1 - t0, 1e-6)) * (W - pad.l - pad.r);
    const y = (v) => pad.t + (1 - v) * (H - pad.t - pad.b);
    const step = niceStep(t1 - t0, Math.max(2, Math.floor((W - pad.l - pad.r) / 70)));
    for (let t = Math.ceil(t0 / step) * step; t <= t1 + 1e-9; t += step) {
      svg.append(el("svg:line", { x1: x(t), x2: x(t), y1: H - pad.b, y2: H - pad.b + 4, className: "axis" }));
      svg.append(el("svg:text", { x: x(t), y: H - pad.b + 16, "text-anchor": "middle", className: "tick", text: `${+t.toFixed(2)}` }));
    }
    svg.append(el("svg:line", { x1: pad.l, x2: W - pad.r, y1: H - pad.b, y2: H - pad.b, className: "axis" }));
    svg.append(el("svg:text", { x: (pad.l + W - pad.r) / 2, y: H - 4, "text-anchor": "middle", className: "axis-label", text: "time in the video (seconds)" }));
    for (const [key, dash] of [["voice", "5 3"], ["mouth", null]]) {
      const d = c.times_s.map((t, i) => `${i ? "L" : "M"}${x(t).toFixed(1)},${y(c[key][i]).toFixed(1)}`).join("");
      svg.append(el("svg:path", {
        d, fill: "none", stroke: key === "mouth" ? "#1f5fa8" : "#b85c00", "stroke-width": key === "mouth" ? 2 : 1.5,
        "stroke-dasharray": dash, "stroke-linejoin": "round", className: `series lips-${key}`,
      }));
    }
  }

  function renderProvenance(r) {
    const p = r.provenance;
    const section = $("provenance-section");
    if (!p) { section.hidden = true; return; }
    section.hidden = false;
    const signed = p.evidence === "none" && p.c2pa && ["valid", "trusted"].includes(p.c2pa.state);
    $("provenance-summary").textContent = p.status !== "analyzed" ? `Not checked (${SECTION_WORDS[p.status] || p.status}).`
      : signed ? "Signed Content Credentials that declare no AI: they show how the file was made and that it is unchanged since signing, not whether what it shows is true."
      : PROVENANCE_EVIDENCE[p.evidence] || p.evidence;

    const c = p.c2pa || { state: "none" };
    const st = C2PA_STATES[c.state] || { label: c.state, cls: "na", means: "" };
    $("c2pa-state").className = `c2pa-state ${st.cls}`;
    fill($("c2pa-state"), 
      el("p", { className: "c2pa-state-label" }, el("span", { className: "visually-hidden", text: "State: " }),
        el("span", { text: st.label }), el("span", { className: "mono state-code", text: ` (${c.state})` })),
      el("p", { text: st.means }),
      c.reason ? el("p", { className: "help" }, el("strong", { text: "For this file: " }), c.reason.replace(/\.?$/, ".")) : null);

    const signer = c.signer ? `${c.signer}${c.signer_name && c.signer_name !== c.signer ? ` (${c.signer_name})` : ""}` : null;
    const codes = (c.codes || []).map((code) => (C2PA_CODES[code] ? `${code}: ${C2PA_CODES[code]}` : code));
    const hasCredentials = c.state !== "none";
    $("c2pa-facts").replaceChildren(...(hasCredentials ? [factList([
      ["Signed by", signer ? `${signer} — ${c.signer_verified ? "verified against the trust list" : "not verified"}` : "no signer named"],
      ["Signed at", c.signed_at],
      ["Claim generator", c.claim_generator ? `${c.claim_generator} (the tool that wrote the credentials)` : null],
      ["AI declared", c.ai_declared ? `yes: ${(c.ai_source_types || []).map((t) => SOURCE_TYPES[t] || t).join(", ")}` : "no action declares generative AI"],
      ["Manifests", typeof c.manifests === "number" ? c.manifests : null],
      ["Stored at", c.remote_url ? `${c.remote_url} (not fetched)` : null, "mono"],
    ])] : []));
    $("c2pa-codes").replaceChildren(...codes.map((t) => el("li", { className: "mono-list", text: t })));
    $("c2pa-codes-block").hidden = codes.length === 0;
    const actions = c.actions || [];
    $("c2pa-actions").replaceChildren(...actions.map(actionItem));
    $("c2pa-actions-block").hidden = actions.length === 0;
    const ingredients = c.ingredients || [];
    $("c2pa-ingredients").replaceChildren(...ingredients.map((g) => el("li", {
      text: [g.title || "untitled", g.relationship, g.has_manifest ? "has credentials of its own" : null].filter(Boolean).join(" · "),
    })));
    $("c2pa-ingredients-block").hidden = ingredients.length === 0;

    const md = p.metadata || { findings: [], errors: [] };
    const findings = md.findings || [];
    const errors = md.errors || [];
    fill($("metadata-findings"), 
      findings.length ? el("ul", { className: "findings" }, findings.map(findingItem))
        : el("p", { className: "help", text: "No metadata naming a generator, editor, encoder or device was found. Metadata is easy to strip, so its absence says nothing." }),
      errors.length ? el("div", {}, el("p", { className: "help", text: "Present but unreadable:" }),
        el("ul", {}, errors.map((e) => el("li", { text: e })))) : null);

    const wm = p.watermarks || { status: "not_checked", found: [], checked: [] };
    const found = wm.found || [];
    const wmWords = { found: "Found a known generator watermark.", not_found: "No known watermark found.", not_checked: "Not checked." };
    fill($("watermarks"), 
      el("p", { className: "watermark-status", text: wmWords[wm.status] || wm.status }),
      found.length ? el("ul", {}, found.map(watermarkItem)) : null,
      wm.reason ? el("p", { className: "help", text: wm.reason.replace(/^./, (ch) => ch.toUpperCase()).replace(/\.?$/, ".") }) : null,
      wm.status !== "not_checked" && (wm.checked || []).length ? el("p", { className: "help", text: `Looked for: ${wm.checked.join(", ")}.` }) : null);
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
    load_models: "loading models", provenance: "reading content credentials",
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
    // No band when the section's verdict used none: no shading and no threshold line.
    const { low, high } = bandRange || { low: null, high: null };
    if (bandRange && high > low) svg.append(el("svg:rect", { x: pad.l, width: W - pad.l - pad.r, y: y(high), height: y(low) - y(high), className: "band" }));
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
    if (bandRange) svg.append(el("svg:line", { x1: pad.l, x2: W - pad.r, y1: y(high), y2: y(high), className: "threshold" }));
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
        className: `seg ${!bandRange ? "mid" : s.score > bandRange.high ? "high" : s.score < bandRange.low ? "low" : "mid"}${i % 2 ? " alt" : ""}`,
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
