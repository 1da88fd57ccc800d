/* Experiments: the list, a creation form (errors shown on their field), start, stop,
 * allocation changes and results with intervals, SRM and the recommendation
 * (the /admin/experiments endpoints, docs/experiments.md). */
"use strict";

(function (SY) {
  const h = SY.h;
  const ID_RE = /^[A-Za-z0-9_.-]{1,63}$/;

  /* "[lo, hi]" of {value, lo, hi} with a bar when on a 0..1 scale. */
  function est(o, fmt, bar) {
    if (!o || o.value === null || o.value === undefined) return h("span", { class: "muted" }, "–");
    return h("span", {}, bar ? SY.intervalBar(o.value, o.lo, o.hi, 1) : null, " ",
      `${fmt(o.value)} [${fmt(o.lo)}, ${fmt(o.hi)}]`);
  }

  /* The creation form. onCreated(doc) after a 201. */
  function createForm(routes, onCreated) {
    const models = [...new Set(routes.flatMap((r) => r.arms.map((a) => a.model)))];
    const f = {
      id: SY.field("exp-id", "Id", h("input", { type: "text", required: true, autocomplete: "off" }), "1–63 letters, digits, _ - ."),
      route: SY.field("exp-route", "Route", h("select", {}, routes.map((r) => h("option", { value: r.name }, r.name)))),
      unit: SY.field("exp-unit", "Unit", h("select", {}, ["user", "conversation", "request"].map((u) => h("option", { value: u }, u)))),
      traffic: SY.field("exp-traffic", "Traffic share", h("input", { type: "number", step: "0.05", min: "0", max: "1", value: "1" }), "of the route's units, (0, 1]"),
      min: SY.field("exp-min", "Minimum samples", h("input", { type: "number", step: "1", min: "1", value: "100" })),
    };
    const variants = h("div", {});
    const vErr = h("p", { class: "error", id: "exp-variants-error", role: "alert" });
    const formErr = h("p", { class: "error", id: "exp-form-error", role: "alert" });
    const rows = [];
    function addVariant(name, model) {
      const k = rows.length;
      const row = {
        name: SY.field(`exp-v${k}-name`, `Variant ${k + 1} name` + (k === 0 ? " (control)" : ""), h("input", { type: "text", value: name || "", autocomplete: "off" })),
        weight: SY.field(`exp-v${k}-weight`, "Weight", h("input", { type: "number", step: "any", min: "0", value: "1" })),
        model: SY.field(`exp-v${k}-model`, "Model", h("select", {}, h("option", { value: "" }, "(the route's candidates)"),
          models.map((m) => h("option", { value: m, selected: m === model }, m)))),
      };
      rows.push(row);
      variants.append(h("div", { class: "row variant" }, row.name.wrap, row.weight.wrap, row.model.wrap));
    }
    addVariant("control", models[0]);
    addVariant("treatment", models[1] || models[0]);
    const all = () => [...Object.values(f), ...rows.flatMap((r) => [r.name, r.weight, r.model])];
    const form = h("form", { id: "exp-create", novalidate: true, "aria-label": "Create an experiment" },
      h("div", { class: "row" }, f.id.wrap, f.route.wrap, f.unit.wrap, f.traffic.wrap, f.min.wrap),
      h("fieldset", {}, h("legend", {}, "Variants (the first is the control)"), variants, vErr,
        h("button", { type: "button", class: "ghost", onclick: () => addVariant("variant" + (rows.length + 1), "") }, "Add a variant")),
      formErr, h("button", { type: "submit" }, "Create draft"));

    /* param "variants[1].model" → that row's field; "traffic" → the traffic field… */
    function showError(param, msg) {
      const m = /^variants\[(\d+)\]\.(name|weight|model)/.exec(param || "");
      if (m && rows[+m[1]]) return rows[+m[1]][m[2]].error(msg);
      const map = { id: f.id, route: f.route, unit: f.unit, traffic: f.traffic, min_samples: f.min };
      if (map[param]) return map[param].error(msg);
      if (param && param.startsWith("variants")) { vErr.textContent = msg; return; }
      formErr.textContent = msg;
    }

    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      for (const x of all()) x.error("");
      vErr.textContent = formErr.textContent = "";
      let bad = false;
      const fail = (fld, msg) => { fld.error(msg); if (!bad) fld.input.focus(); bad = true; };
      const id = f.id.input.value.trim();
      if (!ID_RE.test(id)) fail(f.id, "The id must be 1–63 letters, digits, '_', '-' or '.'.");
      const traffic = Number(f.traffic.input.value);
      if (!(traffic > 0 && traffic <= 1)) fail(f.traffic, "The traffic share must be in (0, 1].");
      const min = Number(f.min.input.value);
      if (!(Number.isInteger(min) && min >= 1)) fail(f.min, "A whole number, at least 1.");
      const vs = [];
      rows.forEach((r) => {
        const name = r.name.input.value.trim(), weight = Number(r.weight.input.value);
        if (!name && rows.length > 2) return; /* blank extra rows are ignored */
        if (!name) fail(r.name, "Name the variant.");
        if (!(weight > 0)) fail(r.weight, "The weight must be positive.");
        const v = { name, weight };
        if (r.model.input.value) v.model = r.model.input.value;
        vs.push(v);
      });
      if (bad) return;
      const def = { id, route: f.route.input.value, unit: f.unit.input.value, traffic, min_samples: min, variants: vs };
      try {
        const doc = await SY.api("POST", "/admin/experiments", def);
        form.reset();
        onCreated(doc);
      } catch (e) {
        if (e.status === 401) return;
        showError(e.param, e.message);
      }
    });
    return form;
  }

  function listPage(root) {
    const list = h("div", { class: "card" });
    const create = h("section", { class: "card" }, h("h2", {}, "Create an experiment"), h("p", { class: "muted" }, "Loading routes…"));
    SY.append(root, [h("h1", {}, "Experiments"), list, create]);
    let formBuilt = false;
    async function refresh() {
      const [exps, routes] = await Promise.all([SY.get("/admin/experiments"), SY.get("/admin/routes")]);
      const data = exps.data || exps;
      SY.replace(list, h("h2", {}, "All experiments"), SY.table([
        { label: "id", cell: (e) => h("a", { href: "#/experiments/" + SY.enc(e.id) }, e.id) },
        { label: "route", cell: (e) => e.definition.route },
        { label: "status", cell: (e) => SY.badge(e.status) },
        { label: "unit", cell: (e) => e.definition.unit || "user" },
        { label: "variants", cell: (e) => e.definition.variants.map((v) => v.name).join(", ") },
        { label: "allocation", num: 1, cell: (e) => "v" + e.allocation_version },
        { label: "created", cell: (e) => SY.datetime(e.created_ms) },
      ], data, { empty: "No experiments yet.", rowAttrs: (e) => ({ "data-exp": e.id, "data-status": e.status }) }));
      if (!formBuilt) {
        formBuilt = true;
        SY.replace(create, h("h2", {}, "Create an experiment"),
          createForm(routes.data.filter((r) => !r.name.includes("~")), (doc) => { location.hash = "#/experiments/" + SY.enc(doc.id); }));
      }
    }
    return { refresh };
  }

  function resultsView(res) {
    const rec = res.recommendation || {};
    const srm = res.srm || {};
    return h("div", {},
      h("p", { "data-recommendation": rec.action }, "Recommendation: ", h("strong", {}, (rec.action || "–").replace(/_/g, " ")),
        rec.variant ? ` (${rec.variant})` : "", rec.reason ? h("span", { class: "muted" }, " — " + rec.reason) : ""),
      h("p", { "data-srm": srm.warning ? "warning" : "ok" }, "Sample ratio: ",
        srm.warning ? SY.badge("mismatch", "warning") : SY.badge("ok", "ok"),
        ` χ² ${SY.num(srm.chi2, 2)}, p ${SY.num(srm.p_value, 4)}`),
      SY.table([
        { label: "variant", cell: (v) => h("strong", {}, v.name, v.control ? " (control)" : "") },
        { label: "units", num: 1, cell: (v) => SY.int(v.units) },
        { label: "requests", num: 1, cell: (v) => SY.int(v.requests) },
        { label: "rated", num: 1, cell: (v) => SY.int(v.rated) },
        { label: "thumbs-up rate (95%)", cell: (v) => est(v.thumbs_up_rate, (x) => SY.num(x, 3), true) },
        { label: "cost / request", cell: (v) => est(v.cost_per_request_usd, SY.usd) },
        { label: "p50 / p95 latency", num: 1, cell: (v) => `${SY.ms(v.latency_ms.p50)} / ${SY.ms(v.latency_ms.p95)}` },
        { label: "error rate", cell: (v) => est(v.error_rate, (x) => SY.pct(x)) },
      ], res.variants, { caption: "Per variant", rowAttrs: (v) => ({ "data-variant": v.name }) }),
      SY.table([
        { label: "treatment", cell: (c) => c.variant },
        { label: "lift (95%)", cell: (c) => c.lift.absolute === null ? "–" : `${SY.num(c.lift.absolute, 3)} [${SY.num(c.lift.absolute_lo, 3)}, ${SY.num(c.lift.absolute_hi, 3)}]` },
        { label: "p (Holm)", num: 1, cell: (c) => SY.num(c.p_value_holm, 4) },
        { label: "always-valid p", num: 1, cell: (c) => SY.num(c.sequential.always_valid_p_holm, 4) },
        { label: "confidence sequence", cell: (c) => c.sequential.confidence_sequence_lo === null ? "–" : `[${SY.num(c.sequential.confidence_sequence_lo, 3)}, ${SY.num(c.sequential.confidence_sequence_hi, 3)}]` },
        { label: "P(beats control)", num: 1, cell: (c) => SY.pct(c.bayesian.p_beat_control) },
        { label: "guardrails", cell: (c) => Object.entries(c.guardrails || {}).map(([k, g]) => SY.badge(`${k}: ${g.status}`, g.status)) },
      ], res.comparisons || [], { caption: "Against control (" + (res.primary_metric || "").replace(/_/g, " ") + ")", empty: "No comparison yet." }));
  }

  function detailPage(root, id) {
    const docBox = h("div", { class: "card" });
    const actions = h("div", { class: "row" });
    const msg = h("p", { class: "error", role: "alert", id: "exp-action-error" });
    const alloc = h("section", { class: "card" });
    const results = h("section", { class: "card" }, h("h2", {}, "Results"));
    SY.append(root, [h("p", {}, h("a", { href: "#/experiments" }, "← All experiments")), h("h1", {}, "Experiment ", h("code", {}, id)), docBox, actions, msg, alloc, results]);
    let allocBuilt = false;
    const base = "/admin/experiments/" + SY.enc(id);

    async function act(method, path, body) {
      msg.textContent = "";
      try { await SY.api(method, base + path, body); await refresh(); } catch (e) { if (e.status !== 401) msg.textContent = e.message; }
    }

    function allocForm(doc) {
      const last = doc.allocation_history[doc.allocation_history.length - 1];
      const traffic = SY.field("alloc-traffic", "Traffic share", h("input", { type: "number", step: "0.05", min: "0", max: "1", value: String(last.traffic) }));
      const ws = doc.definition.variants.map((v, k) =>
        [v.name, SY.field(`alloc-w${k}`, `Weight of ${v.name}`, h("input", { type: "number", step: "any", min: "0", value: String(last.weights[v.name]) }))]);
      const err = h("p", { class: "error", role: "alert" });
      const form = h("form", { id: "alloc-form", novalidate: true }, h("div", { class: "row" }, traffic.wrap, ws.map((w) => w[1].wrap)), err,
        h("button", { type: "submit" }, "Apply a new allocation"));
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        err.textContent = "";
        traffic.error("");
        const t = Number(traffic.input.value);
        if (!(t > 0 && t <= 1)) { traffic.error("The traffic share must be in (0, 1]."); return; }
        const weights = {};
        for (const [name, fld] of ws) weights[name] = Number(fld.input.value);
        try { await SY.api("PUT", base + "/allocation", { traffic: t, weights }); await refresh(); } catch (e) {
          if (e.status === 401) return;
          if (e.param === "traffic") traffic.error(e.message); else err.textContent = e.message;
        }
      });
      return form;
    }

    async function refresh() {
      const doc = await SY.get(base);
      const d = doc.definition;
      SY.replace(docBox, h("p", { "data-status": doc.status }, SY.badge(doc.status), ` route ${d.route} · unit ${d.unit || "user"} · created ${SY.datetime(doc.created_ms)}`,
        doc.started_ms ? ` · started ${SY.datetime(doc.started_ms)}` : "", doc.stopped_ms ? ` · stopped ${SY.datetime(doc.stopped_ms)}` : ""),
        SY.table([
          { label: "version", num: 1, cell: (a) => "v" + a.version },
          { label: "traffic", num: 1, cell: (a) => SY.pct(a.traffic, 0) },
          { label: "weights", cell: (a) => Object.entries(a.weights).map(([k, v]) => `${k} ${v}`).join(", ") },
          { label: "since", cell: (a) => SY.datetime(a.ts_ms) },
        ], doc.allocation_history, { caption: "Allocation history" }));
      SY.replace(actions,
        doc.status === "draft" ? h("button", { type: "button", id: "exp-start", onclick: () => act("POST", "/start") }, "Start") : null,
        doc.status === "running" ? h("button", { type: "button", class: "danger", id: "exp-stop", onclick: () => act("POST", "/stop") }, "Stop") : null);
      if (doc.status === "stopped") SY.replace(alloc, h("h2", {}, "Allocation"), h("p", { class: "muted" }, "Stopped: the allocation is final."));
      else if (!allocBuilt) { allocBuilt = true; SY.replace(alloc, h("h2", {}, "Allocation"), allocForm(doc)); }
      if (doc.status !== "draft") {
        const res = await SY.get(base + "/results");
        SY.replace(results, h("h2", {}, "Results"), resultsView(res));
      } else {
        SY.replace(results, h("h2", {}, "Results"), h("p", { class: "muted" }, "A draft has no results: start it."));
      }
    }
    return { refresh };
  }

  SY.pages.experiments = {
    title: "Experiments",
    render(root, arg) { return arg ? detailPage(root, arg) : listPage(root); },
  };
})(window.SY);
