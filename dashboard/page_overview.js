/* Overview: requests, errors, cost and latency over the last hour or day, per route and
 * model (GET /admin/activity, GET /admin/status). */
"use strict";

(function (SY) {
  const h = SY.h;
  const WINDOWS = { hour: [3600, 60], day: [86400, 1800] };

  /* Sum series per key(series) into {name, values} for one field. */
  function group(activity, keyOf, field, mean) {
    const m = new Map();
    for (const se of activity.series) {
      const k = keyOf(se);
      if (!m.has(k)) m.set(k, { name: k, sum: new Array(activity.points).fill(0), w: new Array(activity.points).fill(0) });
      const g = m.get(k);
      se[field].forEach((v, i) => {
        if (v === null) return;
        if (mean) { g.sum[i] += v * se.requests[i]; g.w[i] += se.requests[i]; }
        else g.sum[i] += v;
      });
    }
    return [...m.values()].map((g) => ({
      name: g.name,
      values: mean ? g.sum.map((s, i) => (g.w[i] > 0 ? s / g.w[i] : null)) : g.sum,
    }));
  }

  SY.pages.overview = {
    title: "Overview",
    render(root) {
      let win = "hour";
      const kpis = h("div", { class: "kpis" });
      const charts = h("div", { class: "grid" });
      const tables = h("div", { class: "card" });
      const status = h("p", { class: "muted small" });
      const seg = SY.segmented("Time window", [["hour", "Last hour"], ["day", "Last day"]], win, (v) => {
        win = v;
        refresh().catch(() => {});
      });
      SY.append(root, [h("div", { class: "row" }, h("h1", {}, "Overview"), h("span", { class: "spacer" }), seg), status, kpis, charts, tables]);

      async function refresh() {
        const [w, step] = WINDOWS[win];
        const [a, st] = await Promise.all([SY.get(`/admin/activity?window=${w}&step=${step}`), SY.get("/admin/status")]);
        status.textContent = `switchyard ${st.version} · up ${SY.num(st.uptime_s / 3600, 1)} h · ${st.workers} workers · configuration generation ${st.config_generation}`;
        const t = { requests: 0, errors: 0, cost: 0, lat: 0, ratings: 0, rsum: 0 };
        for (const se of a.series) {
          const x = se.totals;
          t.requests += x.requests; t.errors += x.errors; t.cost += x.cost_usd;
          if (x.latency_ms !== null) t.lat += x.latency_ms * x.requests;
          t.ratings += x.ratings;
          if (x.rating_mean !== null) t.rsum += x.rating_mean * x.ratings;
        }
        const kpi = (k, v, id) => h("div", { class: "kpi", "data-kpi": id }, h("div", { class: "v" }, v), h("div", { class: "k" }, k));
        SY.replace(kpis,
          kpi("requests", SY.int(t.requests), "requests"),
          kpi("errors", `${SY.int(t.errors)} (${SY.pct(t.requests ? t.errors / t.requests : null)})`, "errors"),
          kpi("cost", SY.usd(t.cost), "cost"),
          kpi("mean latency", SY.ms(t.requests ? t.lat / t.requests : null), "latency"),
          kpi("mean rating", t.ratings ? SY.num(t.rsum / t.ratings, 3) : "–", "rating"));
        const times = SY.bucketTimes(a);
        const routeOf = (se) => se.route === "" ? "(model named)" : se.route.split("~")[0];
        const modelOf = (se) => se.model;
        const card = (title, chart) => h("section", { class: "card" }, h("h2", {}, title), chart);
        SY.replace(charts,
          card("Requests per route", SY.lineChart({ id: "requests", title: "Requests per bucket, per route", times, series: group(a, routeOf, "requests"), integer: true, yFormat: (v) => SY.num(v, 0) })),
          card("Errors per route", SY.lineChart({ id: "errors", title: "Errors per bucket, per route", times, series: group(a, routeOf, "errors"), integer: true, yFormat: (v) => SY.num(v, 0) })),
          card("Cost per model", SY.lineChart({ id: "cost", title: "Cost (USD) per bucket, per model", times, series: group(a, modelOf, "cost_usd"), yFormat: SY.usd })),
          card("Mean latency per model", SY.lineChart({ id: "latency", title: "Mean latency (ms) per bucket, per model", times, series: group(a, modelOf, "latency_ms", true), yFormat: (v) => SY.num(v, 1) })));
        const rows = [...a.series].sort((p, q) => q.totals.requests - p.totals.requests);
        SY.replace(tables, h("h2", {}, "Per route and model"), SY.table([
          { label: "route", cell: (s) => s.route === "" ? h("span", { class: "muted" }, "(model named)") : h("a", { href: "#/routes/" + SY.enc(s.route.split("~")[0]) }, s.route) },
          { label: "model", cell: (s) => s.model },
          { label: "requests", num: 1, cell: (s) => SY.int(s.totals.requests) },
          { label: "errors", num: 1, cell: (s) => `${SY.int(s.totals.errors)} (${SY.pct(s.totals.requests ? s.totals.errors / s.totals.requests : null)})` },
          { label: "cost", num: 1, cell: (s) => SY.usd(s.totals.cost_usd) },
          { label: "mean latency", num: 1, cell: (s) => SY.ms(s.totals.latency_ms) },
          { label: "ratings", num: 1, cell: (s) => SY.int(s.totals.ratings) },
          { label: "mean rating", num: 1, cell: (s) => SY.num(s.totals.rating_mean, 3) },
          { label: "rephrases", num: 1, cell: (s) => SY.int(s.totals.rephrases) },
        ], rows, { caption: win === "hour" ? "Last hour" : "Last day", empty: "No traffic in this window." }));
      }
      return { refresh };
    },
  };
})(window.SY);
