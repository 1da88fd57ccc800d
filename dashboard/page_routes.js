/* Routes: per route, every arm's traffic share over time, quality posterior, cost,
 * latency and breaker; the policy, objective and rules; the last decisions
 * (GET /admin/routes/{name}, /admin/activity?route=, /admin/decisions?route=). */
"use strict";

(function (SY) {
  const h = SY.h;
  const WINDOWS = { "15m": [900, 10], hour: [3600, 60], day: [86400, 1800] };
  const FLAGS = [[5, "code"], [6, "math"], [7, "tools"], [8, "system prompt"], [9, "non-Latin"], [10, "multiple choice"]];

  /* What the dense context features (docs/policies.md, "The context") say, in words. */
  SY.contextSummary = function (c) {
    if (!c || !c.dim) return "no context vector";
    const x = c.dense, out = [];
    if (x.length > 3) out.push("turn " + Math.round(Math.exp(x[3] * Math.log(32)) - 1));
    if (x.length > 2) out.push("~" + SY.int(Math.exp(x[2] * 10) - 1) + " B message");
    if (x.length > 4 && x[4] > 0) out.push("escalation " + Math.round(x[4] * 4));
    for (const [i, name] of FLAGS) if (x.length > i && x[i] >= 0.5) out.push(name);
    return out.join(" · ") + ` (d=${c.dim})`;
  };

  SY.ratingText = function (r) {
    if (!r) return h("span", { class: "muted" }, "–");
    if (r.implicit) return h("span", { class: "warn", title: "implicit: the user rephrased" }, "rephrased");
    return r.value >= 0.5 ? h("span", { class: "ok" }, "▲ up " + SY.num(r.value, 2)) : h("span", { class: "error" }, "▼ down " + SY.num(r.value, 2));
  };

  SY.decisionsTable = function (rows, opts = {}) {
    const cols = [
      { label: "time", cell: (d) => h("span", { title: d.id }, SY.time(d.ts_ms)) },
      opts.route ? { label: "route", cell: (d) => d.route || "(model named)" } : null,
      { label: "model", cell: (d) => h("strong", {}, d.model) },
      { label: "propensity", num: 1, cell: (d) => SY.num(d.propensity, 3) },
      { label: "context", cell: (d) => h("span", { class: "small" }, SY.contextSummary(d.context)) },
      { label: "rule", cell: (d) => d.rule ? SY.badge(d.rule, "warning") : "" },
      { label: "status", num: 1, cell: (d) => String(d.status) },
      { label: "cost", num: 1, cell: (d) => SY.usd(d.cost_usd) },
      { label: "latency", num: 1, cell: (d) => SY.ms(d.latency_ms) },
      { label: "rating", cell: (d) => SY.ratingText(d.rating) },
      opts.conversation === false ? null : {
        label: "conversation", cell: (d) => d.conversation ? h("a", { href: "#/conversations/" + d.conversation, class: "mono small" }, d.conversation.slice(0, 8) + "…") : "",
      },
    ].filter(Boolean);
    return SY.table(cols, rows, { empty: "No decisions yet.", rowClass: (d) => d.rule ? "escalated" : null, rowAttrs: (d) => ({ "data-id": d.id }) });
  };

  function objectiveText(o) {
    if (!o) return "–";
    const parts = [`quality × ${o.quality}`];
    if (o.cost_per_usd) parts.push(`− ${o.cost_per_usd} × cost (USD)`);
    if (o.latency_per_s) parts.push(`− ${o.latency_per_s} × latency (s)`);
    if (o.cost_per_doubling) parts.push(`− ${o.cost_per_doubling} per doubling of cost`);
    if (o.latency_per_doubling) parts.push(`− ${o.latency_per_doubling} per doubling of latency`);
    let s = "utility = " + parts.join(" ");
    if (o.max_cost_usd) s += `; at most ${SY.usd(o.max_cost_usd)} per request`;
    if (o.latency_slo_ms) s += `; latency SLO ${SY.ms(o.latency_slo_ms)}`;
    return s;
  }

  /* Per model, its share of the route's requests in each bucket (null: no traffic). */
  function shares(a, models) {
    const total = new Array(a.points).fill(0), per = new Map(models.map((m) => [m, new Array(a.points).fill(0)]));
    for (const se of a.series) {
      if (!per.has(se.model)) per.set(se.model, new Array(a.points).fill(0));
      se.requests.forEach((v, i) => { total[i] += v; per.get(se.model)[i] += v; });
    }
    return [...per.entries()].map(([name, v]) => ({ name, values: v.map((x, i) => (total[i] > 0 ? x / total[i] : null)) }));
  }

  SY.pages.routes = {
    title: "Routes",
    render(root, arg) {
      let win = "15m";
      const picker = h("div", { class: "row" });
      const head = h("div", { class: "card" });
      const arms = h("div", { class: "card" });
      const charts = h("div", { class: "grid" });
      const decisions = h("div", { class: "card" });
      const seg = SY.segmented("Time window", [["15m", "15 min"], ["hour", "Hour"], ["day", "Day"]], win, (v) => { win = v; refresh().catch(() => {}); });
      SY.append(root, [h("div", { class: "row" }, h("h1", {}, "Routes"), h("span", { class: "spacer" }), seg), picker, head, charts, arms, decisions]);
      let name = arg;

      async function refresh() {
        const all = await SY.get("/admin/routes");
        const list = { data: all.data.filter((x) => !x.name.includes("~")) }; /* not experiment variants */
        if (!name && list.data.length) name = list.data[0].name;
        SY.replace(picker, h("nav", { "aria-label": "Routes", class: "seg" }, list.data.map((r) =>
          h("a", { href: "#/routes/" + SY.enc(r.name), class: "ghost", "aria-current": r.name === name ? "page" : null }, r.name))));
        const r = list.data.find((x) => x.name === name);
        if (!r) { SY.replace(head, h("p", { class: "error" }, name ? `No route named ${name}.` : "No routes configured.")); return; }
        const [w, step] = WINDOWS[win];
        const [a, d] = await Promise.all([
          SY.get(`/admin/activity?window=${w}&step=${step}&route=${SY.enc(name)}`),
          SY.get(`/admin/decisions?route=${SY.enc(name)}&limit=25`)]);
        SY.replace(head, h("h2", {}, "Route ", h("code", {}, r.name)),
          h("p", {}, "Policy ", h("strong", { "data-policy": r.policy }, r.policy), " · ", objectiveText(r.objective)),
          r.rules.length ? SY.table([
            { label: "rule", cell: (x) => x.name },
            { label: "when", cell: (x) => h("code", {}, x.when) },
            { label: "then", cell: (x) => Object.entries(x.then).map(([k, v]) => `${k} ${v === true ? "" : v}`).join(" ") },
            { label: "sticky", cell: (x) => (x.sticky ? "yes" : "no") },
          ], r.rules, { caption: "Escalation rules" + (r.deescalate_after_good_turns ? ` (a sticky one is dropped after ${r.deescalate_after_good_turns} good turns)` : "") }) : h("p", { class: "muted" }, "No escalation rules."));
        const times = SY.bucketTimes(a);
        const models = r.arms.map((x) => x.model);
        const perArm = models.map((m) => ({ name: m, values: new Array(a.points).fill(0) }));
        for (const se of a.series) {
          const k = models.indexOf(se.model);
          if (k >= 0) se.requests.forEach((v, i) => { perArm[k].values[i] += v; });
        }
        SY.replace(charts,
          h("section", { class: "card" }, h("h2", {}, "Traffic share per arm"),
            SY.lineChart({ id: "arm-share", title: "Share of the route's requests per arm", times, series: shares(a, models), yMax: 1, yFormat: (v) => SY.pct(v, 0) })),
          h("section", { class: "card" }, h("h2", {}, "Requests per arm"),
            SY.lineChart({ id: "arm-requests", title: "Requests per bucket per arm", times, series: perArm, integer: true, yFormat: (v) => SY.num(v, 0) })));
        SY.replace(arms, h("h2", {}, "Arms"), SY.table([
          { label: "model", cell: (x) => h("strong", {}, x.model) },
          { label: "provider / tier", cell: (x) => `${x.provider} / ${x.tier || "–"}` },
          { label: "price in / out per Mtok", num: 1, cell: (x) => `${SY.usd(x.price_per_mtok.input)} / ${SY.usd(x.price_per_mtok.output)}` },
          { label: "requests", num: 1, cell: (x) => SY.int(x.stats.requests) },
          { label: "share (this process)", num: 1, cell: (x) => SY.pct(x.stats.traffic_share) },
          { label: "quality posterior (95%)", cell: (x) => h("span", {}, SY.intervalBar(x.stats.quality.mean, x.stats.quality.lo, x.stats.quality.hi), " ",
            `${SY.num(x.stats.quality.mean, 3)} [${SY.num(x.stats.quality.lo, 3)}, ${SY.num(x.stats.quality.hi, 3)}]`) },
          { label: "ratings", num: 1, cell: (x) => SY.int(x.stats.ratings) },
          { label: "mean cost", num: 1, cell: (x) => x.stats.cost_usd ? SY.usd(x.stats.cost_usd.mean) : "–" },
          { label: "mean latency", num: 1, cell: (x) => x.stats.latency_ms ? SY.ms(x.stats.latency_ms.mean) : "–" },
          { label: "errors", num: 1, cell: (x) => SY.int(x.stats.errors) },
          { label: "breaker", cell: (x) => SY.badge(x.breaker.state) },
        ], r.arms, { rowAttrs: (x) => ({ "data-arm": x.model }) }));
        SY.replace(decisions, h("h2", {}, "Last decisions"), SY.decisionsTable(d.data, { route: true }));
      }
      return { refresh };
    },
  };
})(window.SY);
