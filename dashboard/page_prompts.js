/* Prompts: versions, a diff between any two, labels and their history, moving a label
 * (rollback), and a render preview (the /admin/prompts endpoints). */
"use strict";

(function (SY) {
  const h = SY.h;

  /* Line diff (longest common subsequence) of two texts: [{op: " "|"+"|"-", line}]. */
  SY.lineDiff = function (a, b) {
    const x = a.split("\n"), y = b.split("\n"), n = x.length, m = y.length;
    const L = Array.from({ length: n + 1 }, () => new Int32Array(m + 1));
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--)
        L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
    const out = [];
    let i = 0, j = 0;
    while (i < n && j < m) {
      if (x[i] === y[j]) { out.push({ op: " ", line: x[i] }); i++; j++; }
      else if (L[i + 1][j] >= L[i][j + 1]) out.push({ op: "-", line: x[i++] });
      else out.push({ op: "+", line: y[j++] });
    }
    while (i < n) out.push({ op: "-", line: x[i++] });
    while (j < m) out.push({ op: "+", line: y[j++] });
    return out;
  };

  const pretty = (v) => JSON.stringify(v, null, 2);

  function listPage(root) {
    const list = h("div", { class: "card" });
    SY.append(root, [h("h1", {}, "Prompts"), list]);
    async function refresh() {
      const r = await SY.get("/admin/prompts");
      SY.replace(list, SY.table([
        { label: "prompt", cell: (p) => h("a", { href: "#/prompts/" + SY.enc(p.name) }, p.name) },
        { label: "latest version", num: 1, cell: (p) => String(p.latest_version) },
        { label: "labels", cell: (p) => Object.entries(p.labels).map(([l, v]) => SY.badge(`${l} → v${v}`, "stopped")) },
      ], r.data, { empty: "No prompts yet: create versions with POST /admin/prompts/{name}/versions (docs/experiments.md).", rowAttrs: (p) => ({ "data-prompt": p.name }) }));
    }
    return { refresh };
  }

  function versionSelect(id, versions, value) {
    return h("select", { id }, versions.map((v) => h("option", { value: v.version, selected: v.version === value }, "v" + v.version)));
  }

  function detailPage(root, name) {
    const base = "/admin/prompts/" + SY.enc(name);
    const versions = h("section", { class: "card" });
    const labels = h("section", { class: "card" });
    const diff = h("section", { class: "card" });
    const preview = h("section", { class: "card" });
    SY.append(root, [h("p", {}, h("a", { href: "#/prompts" }, "← All prompts")), h("h1", {}, "Prompt ", h("code", {}, name)),
      h("div", { class: "grid" }, labels, versions), diff, preview]);
    let built = 0; /* the number of versions the forms were built for */
    let doc = null;

    function diffView(a, b) {
      const va = doc.versions.find((v) => v.version === a), vb = doc.versions.find((v) => v.version === b);
      const pre = h("pre", { class: "diff", "data-diff": `${a}-${b}` });
      for (const d of SY.lineDiff(pretty(va.definition), pretty(vb.definition)))
        pre.append(h("span", { class: d.op === "+" ? "add" : d.op === "-" ? "del" : "same" }, d.op + " " + d.line));
      return pre;
    }

    function buildForms() {
      const vs = doc.versions;
      const last = vs[vs.length - 1].version;
      /* diff */
      const from = versionSelect("diff-from", vs, Math.max(1, last - 1)), to = versionSelect("diff-to", vs, last);
      const out = h("div", {});
      const show = () => SY.replace(out, diffView(Number(from.value), Number(to.value)));
      from.addEventListener("change", show);
      to.addEventListener("change", show);
      SY.replace(diff, h("h2", {}, "Diff"), h("div", { class: "row" },
        h("div", { class: "field" }, h("label", { for: "diff-from" }, "From"), from),
        h("div", { class: "field" }, h("label", { for: "diff-to" }, "To"), to)), out);
      show();
      /* render preview */
      const ref = h("select", { id: "render-ref" },
        Object.keys(doc.labels).map((l) => h("option", { value: "label:" + l }, "label " + l)),
        vs.map((v) => h("option", { value: "version:" + v.version }, "version " + v.version)));
      const vars = {};
      for (const [k, d] of Object.entries(vs[vs.length - 1].definition.variables || {}))
        vars[k] = d.type === "number" || d.type === "integer" ? 1 : d.type === "boolean" ? true : "example " + k;
      const ta = h("textarea", { id: "render-vars", spellcheck: "false" });
      ta.value = pretty(vars);
      const err = h("p", { class: "error", role: "alert", id: "render-error" });
      const result = h("div", { id: "render-out" });
      const form = h("form", { id: "render-form", novalidate: true }, h("div", { class: "row" },
        h("div", { class: "field" }, h("label", { for: "render-ref" }, "Render"), ref)),
        h("div", { class: "field" }, h("label", { for: "render-vars" }, "Variables (JSON)"), ta), err,
        h("button", { type: "submit" }, "Preview"), result);
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        err.textContent = "";
        SY.clear(result);
        let variables;
        try { variables = JSON.parse(ta.value || "{}"); } catch (e) { err.textContent = "The variables are not valid JSON: " + e.message; return; }
        const [kind, v] = ref.value.split(/:(.*)/);
        const body = { variables };
        body[kind] = kind === "version" ? Number(v) : v;
        try {
          const r = await SY.api("POST", base + "/render", body);
          SY.replace(result, h("p", { class: "muted" }, `${r.prompt_id}@${r.prompt_version} (${r.prompt_hash})`),
            SY.table([{ label: "role", cell: (m) => m.role }, { label: "content", cell: (m) => h("pre", { class: "json" }, typeof m.content === "string" ? m.content : pretty(m.content)) }],
              r.messages || []));
        } catch (e) { if (e.status !== 401) err.textContent = e.message; }
      });
      SY.replace(preview, h("h2", {}, "Render preview"), form);
    }

    function labelsView() {
      const label = SY.field("label-name", "Label", h("input", { type: "text", list: "label-names", value: Object.keys(doc.labels)[0] || "production", autocomplete: "off" }));
      const ver = SY.field("label-version", "Version", versionSelect("label-version", doc.versions, doc.versions[doc.versions.length - 1].version));
      const msg = h("p", { class: "error", role: "alert", id: "label-error" });
      const form = h("form", { id: "label-form", novalidate: true, "aria-label": "Move a label" },
        h("datalist", { id: "label-names" }, Object.keys(doc.labels).map((l) => h("option", { value: l }))),
        h("div", { class: "row" }, label.wrap, ver.wrap, h("div", { class: "field btn-field" }, h("button", { type: "submit" }, "Move label"))), msg);
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        label.error("");
        msg.textContent = "";
        const l = label.input.value.trim();
        if (!/^[A-Za-z0-9_.-]{1,63}$/.test(l)) { label.error("1–63 letters, digits, '_', '-' or '.'."); return; }
        try {
          await SY.api("PUT", `${base}/labels/${SY.enc(l)}`, { version: Number(ver.input.value) });
          await refresh(true);
        } catch (e) { if (e.status !== 401) (e.param === "label" ? label.error(e.message) : (msg.textContent = e.message)); }
      });
      return h("div", {}, h("h2", {}, "Labels"),
        SY.table([{ label: "label", cell: (x) => x[0] }, { label: "version", num: 1, cell: (x) => "v" + x[1] }],
          Object.entries(doc.labels), { empty: "No labels.", rowAttrs: (x) => ({ "data-label": x[0], "data-version": x[1] }) }),
        form,
        h("h3", {}, "History"),
        SY.table([
          { label: "when", cell: (x) => SY.datetime(x.ts_ms) },
          { label: "label", cell: (x) => x.label },
          { label: "from → to", cell: (x) => `${x.from === null ? "–" : "v" + x.from} → v${x.to}` },
        ], [...(doc.label_history || [])].reverse(), { empty: "No moves yet." }));
    }

    let labelsKey = "";
    async function refresh(force) {
      doc = await SY.get(base);
      const inv = {};
      for (const [l, v] of Object.entries(doc.labels)) (inv[v] = inv[v] || []).push(l);
      SY.replace(versions, h("h2", {}, "Versions"), SY.table([
        { label: "version", num: 1, cell: (v) => "v" + v.version },
        { label: "hash", cell: (v) => h("code", { title: v.hash }, v.hash.slice(0, 12)) },
        { label: "created", cell: (v) => SY.datetime(v.created_ms) },
        { label: "model", cell: (v) => v.definition.model || "–" },
        { label: "labels", cell: (v) => (inv[v.version] || []).map((l) => SY.badge(l, "stopped")) },
      ], [...doc.versions].reverse()));
      /* rebuild the label form only when labels changed (keeps what is being typed) */
      const key = JSON.stringify([doc.labels, doc.label_history.length, doc.versions.length]);
      if (force === true || key !== labelsKey) { labelsKey = key; SY.replace(labels, labelsView()); }
      if (doc.versions.length !== built) { built = doc.versions.length; buildForms(); }
    }
    return { refresh };
  }

  SY.pages.prompts = {
    title: "Prompts",
    render(root, arg) { return arg ? detailPage(root, arg) : listPage(root); },
  };
})(window.SY);
