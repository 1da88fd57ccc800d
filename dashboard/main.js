/* switchyard dashboard — sign-in, theme, the hash router and live updates (polling). */
"use strict";

(function (SY) {
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 5000;
  let current = null; /* {name, arg, view} */
  let timer = null;
  let paused = false;

  /* theme: auto (the system's), light or dark; remembered in localStorage */
  const themes = ["auto", "light", "dark"];
  function applyTheme(t) {
    if (t === "auto") document.documentElement.removeAttribute("data-theme");
    else document.documentElement.setAttribute("data-theme", t);
    $("theme").textContent = "Theme: " + t;
  }
  let theme = localStorage.getItem("switchyard.theme") || "auto";
  applyTheme(theme);
  $("theme").addEventListener("click", () => {
    theme = themes[(themes.indexOf(theme) + 1) % themes.length];
    localStorage.setItem("switchyard.theme", theme);
    applyTheme(theme);
  });

  function showSignin(message) {
    stopPolling();
    current = null;
    SY.clear($("page"));
    $("nav").hidden = true;
    $("signout").hidden = true;
    $("pause").hidden = true;
    $("live").textContent = "";
    $("signin").hidden = false;
    $("signin-error").textContent = message || "";
    $("admin-key").value = "";
    $("admin-key").focus();
  }

  SY.onUnauthorized = () => {
    SY.dropKey();
    showSignin("The gateway refused the admin key (401): it may have changed. Sign in again.");
  };

  $("signin-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const key = $("admin-key").value.trim();
    const err = $("signin-error");
    if (!key) { err.textContent = "Enter the admin key."; return; }
    err.textContent = "Checking…";
    try {
      await SY.api("GET", "/admin/status", undefined, key);
    } catch (e) {
      err.textContent = e.status === 401
        ? "Wrong admin key: the gateway refused it (401)."
        : "Could not reach the gateway: " + e.message;
      $("admin-key").select();
      return;
    }
    SY.setKey(key);
    $("signin").hidden = true;
    if (!location.hash || location.hash === "#/") location.hash = "#/overview";
    else route();
  });

  $("signout").addEventListener("click", () => {
    SY.dropKey();
    showSignin("Signed out.");
  });

  $("pause").addEventListener("click", () => {
    paused = !paused;
    $("pause").setAttribute("aria-pressed", String(paused));
    $("pause").textContent = paused ? "Resume updates" : "Pause updates";
    if (!paused) tick();
  });

  function stopPolling() { if (timer) clearTimeout(timer); timer = null; }

  async function tick() {
    stopPolling();
    const c = current;
    if (!c || !c.view || !c.view.refresh) return;
    if (!paused && !document.hidden) {
      try {
        await c.view.refresh();
        if (c === current) $("live").textContent = "Updated " + SY.time(Date.now());
      } catch (e) {
        if (c === current && e.status !== 401) $("live").textContent = "Update failed: " + e.message;
      }
    }
    if (c === current) timer = setTimeout(tick, POLL_MS);
  }

  /* #/page[/arg] */
  function route() {
    if (!SY.key()) return showSignin("");
    $("signin").hidden = true;
    $("nav").hidden = false;
    $("signout").hidden = false;
    $("pause").hidden = false;
    const m = /^#\/([a-z]+)(?:\/(.*))?$/.exec(location.hash);
    let name = m ? m[1] : "overview";
    if (!SY.pages[name]) name = "overview";
    const arg = m && m[2] ? decodeURIComponent(m[2]) : null;
    for (const a of document.querySelectorAll("#nav a"))
      if (a.dataset.page === name) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    if (current && current.view && current.view.stop) current.view.stop();
    stopPolling();
    const root = SY.h("div", { class: "page", "data-page": name, "data-state": "loading" });
    SY.replace($("page"), root);
    const page = SY.pages[name];
    document.title = page.title + " · switchyard";
    current = { name, arg, view: null };
    const mine = current;
    const view = page.render(root, arg);
    mine.view = view;
    const first = view && view.refresh ? view.refresh() : Promise.resolve();
    first.then(() => { root.dataset.state = "ready"; },
      (e) => {
        root.dataset.state = "error";
        if (e.status !== 401) root.prepend(SY.errorBox(e));
      }).finally(() => {
      if (mine === current) {
        $("live").textContent = "Updated " + SY.time(Date.now());
        timer = setTimeout(tick, POLL_MS);
      }
    });
    $("main").focus({ preventScroll: true });
  }

  window.addEventListener("hashchange", route);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) tick(); });
  route();
})(window.SY);
