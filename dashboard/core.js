/* switchyard dashboard — shared helpers: DOM building, the admin API client, formats.
 * Every page file registers itself in SY.pages; main.js routes between them.
 * Nothing is ever written with innerHTML: text goes through textContent, so data from
 * the gateway (prompt contents, ids) can never become markup. */
"use strict";

window.SY = (function () {
  const SY = { pages: {} };
  const KEY = "switchyard.adminKey";

  /* h("div", {class: "x", onclick: fn}, child, "text", [more]) */
  SY.h = function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    SY.append(el, children);
    return el;
  };
  SY.append = function (el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  };
  SY.clear = function (el) { while (el.firstChild) el.removeChild(el.firstChild); return el; };
  SY.replace = function (el, ...children) { SY.clear(el); return SY.append(el, children); };

  /* session: the admin key lives in this tab's sessionStorage only */
  SY.key = () => sessionStorage.getItem(KEY);
  SY.setKey = (k) => sessionStorage.setItem(KEY, k);
  SY.dropKey = () => sessionStorage.removeItem(KEY);

  class ApiError extends Error {
    constructor(status, body) {
      const e = (body && body.error) || {};
      super(e.message || `HTTP ${status}`);
      this.status = status;
      this.param = e.param || null;
      this.code = e.code || null;
    }
  }
  SY.ApiError = ApiError;

  /* One call to the admin API with the Bearer key. A 401 signs out (the key was
   * changed or revoked) and rejects. */
  SY.api = async function (method, path, body, key) {
    const headers = { Authorization: "Bearer " + (key || SY.key() || "") };
    const init = { method, headers, cache: "no-store", credentials: "omit" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const r = await fetch(path, init);
    let data = null;
    const text = await r.text();
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!r.ok) {
      const err = new ApiError(r.status, data);
      if (r.status === 401 && !key && SY.onUnauthorized) SY.onUnauthorized(err);
      throw err;
    }
    return data;
  };
  SY.get = (path) => SY.api("GET", path);

  /* formats */
  const nf = (d) => new Intl.NumberFormat("en", { maximumFractionDigits: d });
  SY.num = (v, d = 2) => (v === null || v === undefined || Number.isNaN(v) ? "–" : nf(d).format(v));
  SY.int = (v) => SY.num(v, 0);
  SY.pct = (v, d = 1) => (v === null || v === undefined ? "–" : SY.num(100 * v, d) + "%");
  SY.usd = function (v) {
    if (v === null || v === undefined) return "–";
    const a = Math.abs(v);
    return "$" + (a === 0 ? "0" : a >= 1 ? v.toFixed(2) : a >= 0.01 ? v.toFixed(4) : v.toPrecision(3));
  };
  SY.ms = (v) => (v === null || v === undefined ? "–" : v >= 1000 ? SY.num(v / 1000, 2) + " s" : SY.num(v, 1) + " ms");
  SY.time = (ms) => (ms ? new Date(ms).toLocaleTimeString([], { hour12: false }) : "–");
  SY.datetime = (ms) => (ms ? new Date(ms).toLocaleString([], { hour12: false }) : "–");
  SY.clock = (ms, withDate) => {
    const d = new Date(ms);
    const hm = String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
    return withDate ? d.getDate() + "/" + (d.getMonth() + 1) + " " + hm : hm;
  };
  SY.badge = (text, cls) => SY.h("span", { class: "badge " + (cls || text) }, text);

  /* A table: cols [{label, num, cell(row) -> node|string}], rows. */
  SY.table = function (cols, rows, opts = {}) {
    const thead = SY.h("thead", {}, SY.h("tr", {}, cols.map((c) =>
      SY.h("th", { scope: "col", class: c.num ? "num" : null }, c.label))));
    const tbody = SY.h("tbody", {}, rows.map((r) => {
      const tr = SY.h("tr", { class: opts.rowClass ? opts.rowClass(r) : null },
        cols.map((c) => SY.h("td", { class: c.num ? "num" : null }, c.cell(r))));
      if (opts.rowAttrs) for (const [k, v] of Object.entries(opts.rowAttrs(r))) tr.setAttribute(k, v);
      return tr;
    }));
    const t = SY.h("table", { class: opts.cls || null }, opts.caption ? SY.h("caption", {}, opts.caption) : null, thead, tbody);
    if (!rows.length && opts.empty)
      tbody.append(SY.h("tr", {}, SY.h("td", { colspan: cols.length, class: "muted" }, opts.empty)));
    return SY.h("div", { class: "table-wrap" }, t);
  };

  /* A labelled form field with its error line; returns {wrap, input, error(msg)}. */
  SY.field = function (id, label, input, hint) {
    input.id = id;
    const err = SY.h("p", { class: "error", id: id + "-error", role: "alert" });
    input.setAttribute("aria-describedby", id + "-error");
    const wrap = SY.h("div", { class: "field", "data-field": id }, SY.h("label", { for: id }, label), input,
      hint ? SY.h("div", { class: "small muted" }, hint) : null, err);
    return {
      wrap, input,
      error(msg) {
        err.textContent = msg || "";
        wrap.classList.toggle("invalid", !!msg);
        input.setAttribute("aria-invalid", msg ? "true" : "false");
      },
    };
  };

  /* A segmented choice; onChange(value). */
  SY.segmented = function (label, options, value, onChange) {
    const seg = SY.h("div", { class: "seg", role: "group", "aria-label": label });
    for (const [v, text] of options) {
      const b = SY.h("button", { type: "button", "aria-pressed": String(v === value), "data-value": v }, text);
      b.addEventListener("click", () => {
        for (const o of seg.children) o.setAttribute("aria-pressed", String(o === b));
        onChange(v);
      });
      seg.append(b);
    }
    return seg;
  };

  SY.errorBox = (e) => SY.h("p", { class: "error", role: "alert" }, e.message || String(e));
  SY.enc = encodeURIComponent;
  return SY;
})();
