/* switchyard dashboard — charts drawn as SVG by hand (docs/dashboard.md says why: a
 * few line charts over at most a few hundred points need no library, and nothing has
 * to be vendored). Colours come from CSS classes s0..s7, so the theme applies. */
"use strict";

(function (SY) {
  const NS = "http://www.w3.org/2000/svg";
  const s = (tag, attrs, ...kids) => {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
    for (const c of kids) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return el;
  };

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  /* Drop the leading buckets where no series has anything (a gateway that started ten
   * minutes ago should not draw fifty minutes of nothing), keeping at least `keep`. */
  function trimLeading(opts, keep) {
    const n = opts.times.length;
    let first = n;
    for (const se of opts.series)
      for (let i = 0; i < first; i++) if (se.values[i] !== null && se.values[i] !== 0) { first = i; break; }
    const start = Math.max(0, Math.min(first, n - keep));
    if (start === 0) return opts;
    return Object.assign({}, opts, {
      times: opts.times.slice(start),
      series: opts.series.map((se) => Object.assign({}, se, { values: se.values.slice(start) })),
    });
  }

  /*
   * A line chart. opts: {title, times: [ms…] (bucket starts), step_ms, series: [{name,
   * values: [number|null…]}], yMax (fixed top, e.g. 1 for shares), yFormat(v)}.
   * A null value breaks the line; each series' <path> carries data-series and
   * data-points (its non-null values) for tests and tools. integer: the values are
 * counts (the axis starts at 0..4 so that its ticks are whole).
   */
  SY.lineChart = function (opts) {
    opts = trimLeading(opts, 12);
    const W = 560, H = 220, L = 56, R = 14, T = 12, B = 28;
    const n = opts.times.length;
    let top = opts.yMax;
    if (top === undefined) {
      let m = 0;
      for (const se of opts.series) for (const v of se.values) if (v !== null && v > m) m = v;
      top = niceMax(opts.integer ? Math.max(m, 4) : m); /* counts: whole ticks */
    }
    const x = (i) => L + (n <= 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (n - 1));
    const y = (v) => T + (H - T - B) * (1 - v / top);
    const fmt = opts.yFormat || ((v) => SY.num(v, 2));
    const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img",
      "aria-label": opts.title + ": " + opts.series.map((se) => se.name).join(", ") });
    svg.append(s("title", {}, opts.title));
    for (let k = 0; k <= 4; k++) {
      const v = (top * k) / 4, yy = y(v);
      svg.append(s("line", { class: "gridline", x1: L, x2: W - R, y1: yy, y2: yy }));
      svg.append(s("text", { x: L - 6, y: yy + 4, "text-anchor": "end" }, fmt(v)));
    }
    svg.append(s("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
    const longSpan = n > 1 && opts.times[n - 1] - opts.times[0] > 6 * 3600e3;
    const fine = n > 1 && opts.times[1] - opts.times[0] < 60e3; /* 10 s buckets: show seconds */
    const label = (ms) => (fine ? SY.time(ms) : SY.clock(ms, longSpan));
    const ticks = Math.min(6, n);
    for (let k = 0; k < ticks; k++) {
      const i = ticks <= 1 ? 0 : Math.round((k * (n - 1)) / (ticks - 1));
      const anchor = ticks > 1 && k === 0 ? "start" : ticks > 1 && k === ticks - 1 ? "end" : "middle";
      svg.append(s("text", { x: x(i), y: H - 8, "text-anchor": anchor }, label(opts.times[i])));
    }
    opts.series.forEach((se, idx) => {
      const cls = "s" + (idx % 8);
      let d = "", points = 0, pen = false;
      const g = s("g", { "data-series": se.name });
      se.values.forEach((v, i) => {
        if (v === null || v === undefined || Number.isNaN(v)) { pen = false; return; }
        d += (pen ? "L" : "M") + x(i).toFixed(1) + " " + y(Math.min(v, top)).toFixed(1) + " ";
        pen = true;
        points++;
        const dot = s("circle", { class: "dot " + cls, cx: x(i).toFixed(1), cy: y(Math.min(v, top)).toFixed(1), r: 2.2 });
        dot.append(s("title", {}, `${se.name} ${label(opts.times[i])}: ${fmt(v)}`));
        g.append(dot);
      });
      g.prepend(s("path", { class: "line " + cls, d: d.trim() || "M0 0", "data-series": se.name, "data-points": points }));
      svg.append(g);
    });
    const legend = SY.h("div", { class: "legend" }, opts.series.map((se, idx) =>
      SY.h("span", {}, SY.h("span", { class: "sw s" + (idx % 8) }), se.name)));
    return SY.h("figure", { class: "chartbox", "data-chart": opts.id || opts.title }, svg, legend);
  };

  /* A small bar for an interval [lo, hi] with its mean on a 0..max scale. */
  SY.intervalBar = function (mean, lo, hi, max = 1) {
    const W = 120, sx = (v) => 4 + ((W - 8) * Math.max(0, Math.min(v, max))) / max;
    const svg = s("svg", { class: "interval", viewBox: `0 0 ${W} 14`, role: "img",
      "aria-label": `mean ${SY.num(mean, 3)}, interval ${SY.num(lo, 3)} to ${SY.num(hi, 3)}` });
    svg.append(s("line", { class: "track", x1: 4, x2: W - 4, y1: 7, y2: 7 }));
    if (lo !== null && hi !== null && lo !== undefined && hi !== undefined)
      svg.append(s("line", { class: "range", x1: sx(lo), x2: sx(hi), y1: 7, y2: 7 }));
    if (mean !== null && mean !== undefined) svg.append(s("circle", { class: "mean", cx: sx(mean), cy: 7, r: 4 }));
    return svg;
  };

  /* Bucket start times of an /admin/activity answer. */
  SY.bucketTimes = (a) => Array.from({ length: a.points }, (_, i) => a.start_ms + i * a.step_s * 1000);
})(window.SY);
