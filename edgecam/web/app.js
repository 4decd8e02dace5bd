// The live page: numbers and the reading from /api/v1/events, a canvas chart of the last
// minutes, and the MJPEG image reconnected when its stream breaks. No library, no CDN.
"use strict";

(function () {
  const SPAN_S = 300; // the chart's width in seconds
  const $ = (id) => document.getElementById(id);
  const points = []; // {t, fps, p50, p99, temp}

  const fmt = (value, digits, unit) =>
    value === null || value === undefined || Number.isNaN(value)
      ? "\u2014"
      : value.toFixed(digits) + (unit || "");

  function hottest(thermal) {
    const temps = thermal && thermal.temperatures ? Object.values(thermal.temperatures) : [];
    return temps.length ? Math.max(...temps) : null;
  }

  function showResult(result) {
    const reading = $("reading");
    reading.textContent = result.text || "no digits";
    reading.classList.toggle("empty", !result.text);
    const n = result.detections.length;
    $("digits").textContent =
      `${n} digit${n === 1 ? "" : "s"} \u00b7 frame ${result.frame} \u00b7 ${result.captured_at}`;
    $("camera").textContent = result.camera;
  }

  function showStats(stats) {
    $("fps").textContent = fmt(stats.fps, 1);
    const lat = stats.latency_ms || {};
    $("latency").textContent =
      lat.p50 === null || lat.p50 === undefined
        ? "\u2014"
        : `${fmt(lat.p50, 1)} / ${fmt(lat.p99, 1)} ms`;
    $("inference").textContent = fmt((stats.inference_ms || {}).p50, 2, " ms");
    const temp = hottest(stats.thermal);
    const throttled = stats.thermal && stats.thermal.throttled ? " (throttled)" : "";
    $("temp").textContent = temp === null ? "\u2014" : fmt(temp, 1, " \u00b0C") + throttled;
    $("dropped").textContent = String(stats.dropped);
    $("frames").textContent = String(stats.frames);
    $("camera").textContent = stats.camera;
    const state = $("state");
    state.textContent = stats.flowing ? "live" : stats.frames ? "stalled" : "waiting for frames";
    state.className = "state " + (stats.flowing ? "live" : "stalled");
  }

  function addPoint(point) {
    points.push(point);
    const oldest = point.t - SPAN_S;
    while (points.length && points[0].t < oldest) points.shift();
  }

  // The smallest round step (1, 2 or 5 times a power of ten) of at least `least`.
  function roundStep(least) {
    const unit = Math.pow(10, Math.floor(Math.log10(least)));
    return [1, 2, 5, 10].map((m) => m * unit).find((s) => s >= least - 1e-9);
  }

  // A scale from 0 with at most five round steps.
  function scale(value, floor) {
    const step = roundStep(Math.max(value, floor) / 5);
    return { max: Math.ceil(Math.max(value, floor) / step) * step, step: step };
  }

  function draw() {
    const canvas = $("chart");
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (!width || !height) return;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const css = getComputedStyle(document.documentElement);
    const color = (name) => css.getPropertyValue(name).trim();
    const pad = { left: 34, right: 40, top: 8, bottom: 18 };
    const w = width - pad.left - pad.right;
    const h = height - pad.top - pad.bottom;
    const now = points.length ? points[points.length - 1].t : Date.now() / 1000;
    const x = (t) => pad.left + w * (1 - (now - t) / SPAN_S);
    const series = (key) => points.filter((p) => p[key] !== null && p[key] !== undefined);
    const fps = scale(Math.max(0, ...points.map((p) => p.fps || 0)), 10);
    // Latency (ms) and temperature (°C) share the right-hand scale.
    const right = [...series("p99").map((p) => p.p99), ...series("temp").map((p) => p.temp)];
    const rows = fps.max / fps.step;
    const fpsMax = fps.max;
    const latMax = rows * roundStep(Math.max(10, ...right) / rows); // on the same grid lines

    ctx.strokeStyle = color("--line");
    ctx.fillStyle = color("--muted");
    ctx.font = "11px system-ui, sans-serif";
    ctx.lineWidth = 1;
    for (let i = 0; i <= rows; i++) {
      const y = pad.top + h * (1 - i / rows);
      ctx.beginPath();
      ctx.moveTo(pad.left, y);
      ctx.lineTo(pad.left + w, y);
      ctx.stroke();
      ctx.textAlign = "right";
      ctx.fillText(String(i * fps.step), pad.left - 4, y + 4);
      ctx.textAlign = "left";
      ctx.fillText(String((latMax * i) / rows), pad.left + w + 4, y + 4);
    }
    ctx.textAlign = "center";
    for (let m = 0; m <= SPAN_S / 60; m++) {
      const label = m === 0 ? "now" : `-${m} min`;
      ctx.fillText(label, x(now - m * 60), height - 4);
    }

    const line = (key, max, stroke) => {
      const data = series(key);
      if (data.length < 2) return;
      ctx.strokeStyle = stroke;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      data.forEach((p, i) => {
        const y = pad.top + h * (1 - Math.min(p[key], max) / max);
        if (i) ctx.lineTo(x(p.t), y);
        else ctx.moveTo(x(p.t), y);
      });
      ctx.stroke();
    };
    line("p99", latMax, color("--lat"));
    line("temp", latMax, color("--temp"));
    line("fps", fpsMax, color("--fps"));
  }

  function connect() {
    const events = new EventSource("/api/v1/events");
    events.addEventListener("history", (e) => {
      points.length = 0;
      JSON.parse(e.data).forEach(addPoint);
      draw();
    });
    events.addEventListener("stats", (e) => {
      const stats = JSON.parse(e.data);
      showStats(stats);
      const lat = stats.latency_ms || {};
      addPoint({ t: stats.t, fps: stats.fps, p50: lat.p50, p99: lat.p99, temp: hottest(stats.thermal) });
      draw();
    });
    events.addEventListener("result", (e) => showResult(JSON.parse(e.data)));
    events.onerror = () => {
      const state = $("state");
      state.textContent = "reconnecting";
      state.className = "state stalled";
    };
  }

  // A broken MJPEG stream (daemon restarted) does not come back by itself: retry it.
  const video = $("video");
  video.addEventListener("error", () => {
    setTimeout(() => {
      video.src = "/stream.mjpg?" + Date.now();
    }, 2000);
  });

  window.addEventListener("resize", draw);
  connect();
  draw();
})();
