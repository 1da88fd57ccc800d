/* Conversations: look one up by id — its state (turns, rephrases, thumbs-down, the
 * sticky escalation and the rule that set it) and its trail of decisions with the rule
 * that fired, ratings and rephrases (GET /admin/conversations/{id},
 * GET /admin/decisions?conversation=). */
"use strict";

(function (SY) {
  const h = SY.h;

  SY.pages.conversations = {
    title: "Conversations",
    render(root, arg) {
      const input = h("input", { type: "search", value: arg || "", autocomplete: "off", placeholder: "X-Conversation-Id or 32-hex id" });
      const fld = SY.field("conv-id", "Conversation id", input, "The client's X-Conversation-Id (or metadata.conversation_id), or the 32-hex id from the decisions and switchyard export.");
      const form = h("form", { id: "conv-form", novalidate: true, role: "search" }, h("div", { class: "row" }, fld.wrap,
        h("div", { class: "field btn-field" }, h("button", { type: "submit" }, "Look up"))));
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        const id = input.value.trim();
        if (!id) { fld.error("Enter an id."); return; }
        location.hash = "#/conversations/" + SY.enc(id);
      });
      const state = h("section", { class: "card", id: "conv-state" });
      const trail = h("section", { class: "card", id: "conv-trail" });
      SY.append(root, [h("h1", {}, "Conversations"), h("div", { class: "card" }, form), arg ? [state, trail] : null]);
      if (!arg) return { refresh: async () => {} };

      async function refresh() {
        let c = null;
        try {
          c = await SY.get("/admin/conversations/" + SY.enc(arg));
        } catch (e) {
          if (e.status !== 404) throw e;
        }
        const d = await SY.get("/admin/decisions?limit=200&conversation=" + SY.enc(arg));
        if (!c) {
          SY.replace(state, h("h2", {}, "State"), h("p", { class: "error", role: "alert" }, "No live conversation with this id (it may have expired, or never existed)."));
        } else {
          const item = (k, v, id) => h("div", { class: "kpi", "data-kpi": id }, h("div", { class: "v" }, v), h("div", { class: "k" }, k));
          SY.replace(state, h("h2", {}, "State ", h("code", { class: "small" }, c.id)), h("div", { class: "kpis" },
            item("turns", SY.int(c.turns), "turns"),
            item("rephrases (in a row / in all)", `${c.rephrases} / ${c.rephrases_total}`, "rephrases"),
            item("thumbs-down", SY.int(c.thumbs_down), "thumbs_down"),
            item("good turns in a row", SY.int(c.good_turns), "good_turns"),
            item("cost", SY.usd(c.cost_usd), "cost"),
            item("escalation", c.tier ? `tier ${c.tier}` : c.pinned ? `pinned ${c.pinned}` : "none", "escalation"),
            item("rule that set it", c.sticky_rule || "–", "sticky_rule")),
            h("p", { class: "muted small" }, `Last turn ${SY.datetime(c.last_ts_ms)} · last request ${c.last_request_id}`));
        }
        const turns = [...d.data].reverse(); /* oldest first */
        const escalations = turns.filter((t) => t.rule);
        SY.replace(trail, h("h2", {}, "Trail"),
          h("p", { class: "muted small" }, `${turns.length} decision(s) among the last ${d.kept} the gateway keeps in memory; ${escalations.length} shaped by a rule.`),
          h("ol", { class: "trail" }, turns.map((t, i) => h("li", { "data-rule": t.rule || "", "data-model": t.model },
            h("strong", {}, `Turn ${i + 1}`), ` ${SY.time(t.ts_ms)} → `, h("strong", {}, t.model), ` (${t.route})`,
            t.rule ? [" · rule ", SY.badge(t.rule, "warning"), " fired"] : "",
            " · ", SY.ratingText(t.rating), ` · ${SY.usd(t.cost_usd)} · ${SY.ms(t.latency_ms)}`))),
          SY.decisionsTable(d.data, { route: true, conversation: false }));
      }
      return { refresh };
    },
  };
})(window.SY);
