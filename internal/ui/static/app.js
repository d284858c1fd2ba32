// voicedr dashboard. Plain JavaScript, no dependencies, no build step.
// Every string from the API reaches the page through textContent or
// setAttribute, never innerHTML.
"use strict";

(function () {
  const TOKEN_KEY = "voicedr.token";
  const SVGNS = "http://www.w3.org/2000/svg"; // XML namespace name, not fetched
  const main = document.getElementById("main");
  const live = document.getElementById("live");
  const banner = document.getElementById("banner");

  // ---- DOM helpers ------------------------------------------------------

  // h builds an element: attrs are set with setAttribute (or as event
  // handlers for on*), children are nodes or strings (text nodes).
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }
  function svg(tag, attrs, ...children) {
    const el = document.createElementNS(SVGNS, tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }
  function setAttrs(el, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }
  function announce(msg) {
    // A fresh node each time so screen readers speak repeats too.
    live.appendChild(h("p", null, msg));
    while (live.childNodes.length > 5) live.removeChild(live.firstChild);
  }
  function showBanner(msg) {
    banner.textContent = msg || "";
    banner.hidden = !msg;
  }

  // pick returns the first defined field among names: the API's JSON may
  // use Go field names or json tags.
  function pick(o, ...names) {
    if (!o) return undefined;
    for (const n of names) if (o[n] !== undefined && o[n] !== null) return o[n];
    return undefined;
  }
  function arr(v) { return Array.isArray(v) ? v : []; }

  // ---- formatting -------------------------------------------------------

  function pad(n) { return String(n).padStart(2, "0"); }
  function fmtTime(s) {
    if (!s) return "—";
    const d = new Date(s);
    if (isNaN(d) || d.getUTCFullYear() < 2000) return "—";
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds()) + " UTC";
  }
  function ago(s) {
    const d = new Date(s);
    if (!s || isNaN(d) || d.getUTCFullYear() < 2000) return "";
    const sec = Math.max(0, Math.round((Date.now() - d) / 1000));
    if (sec < 90) return sec + "s ago";
    if (sec < 5400) return Math.round(sec / 60) + "m ago";
    if (sec < 172800) return Math.round(sec / 3600) + "h ago";
    return Math.round(sec / 86400) + "d ago";
  }
  function timeEl(s) {
    const t = fmtTime(s);
    const a = ago(s);
    return h("time", { datetime: s || "", title: t }, a ? a : t);
  }
  function short(s, n) { s = String(s || ""); return s.length > (n || 12) ? s.slice(0, n || 12) + "…" : s; }
  function num(v, digits) {
    if (typeof v !== "number" || !isFinite(v)) return "—";
    return Number.isInteger(v) ? String(v) : v.toFixed(digits === undefined ? 1 : digits);
  }
  function unitStr(u) {
    return { percent: "%", ratio: "", ms: " ms", count: "", per_minute: "/min" }[u] ?? (u ? " " + u : "");
  }
  function badge(text, tone, testid) {
    return h("span", { class: "badge " + (tone || ""), "data-testid": testid }, text);
  }
  function tone(state) {
    const s = String(state || "").toLowerCase();
    if (/^(up|ok|ready|completed|committed|go|approve|approved|satisfied|true)$/.test(s)) return "ok";
    if (/(down|fail|no_go|rolled_back|aborted|reject|critical|high|error|broken|veto)/.test(s)) return "bad";
    if (/(degraded|paused|inconclusive|pending|warn|medium|running|open|break)/.test(s)) return "warn";
    return "";
  }

  // ---- API ----------------------------------------------------------------

  class APIError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }
  function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

  async function api(method, path, body) {
    const opts = { method, headers: { Authorization: "Bearer " + token(), Accept: "application/json" } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, opts);
    } catch (e) {
      throw new APIError(0, "the voicedr server cannot be reached (" + e.message + ")");
    }
    let data = null;
    const text = await resp.text();
    if (text) {
      try { data = JSON.parse(text); } catch (e) { data = { error: text.trim() }; }
    }
    if (resp.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      state.me = null;
      state.loginMessage = "Your token was refused or has expired: log in again.";
      location.hash = "#/login";
      throw new APIError(401, "unauthorized");
    }
    if (!resp.ok) {
      const msg = (data && (data.error || data.message)) || resp.status + " " + resp.statusText;
      throw new APIError(resp.status, String(msg));
    }
    return data;
  }

  // ---- state, routing and polling -----------------------------------------

  const state = { me: null, loginMessage: "", gen: 0, timer: 0, prev: {} };

  const routes = {
    login: { render: renderLogin, public: true },
    overview: { render: renderOverview, poll: 3000, title: "Overview" },
    flows: { render: renderFlows, poll: 10000, title: "Flows" },
    decisions: { render: renderDecisions, poll: 3000, title: "Decisions" },
    run: { render: renderActiveRun, poll: 1500, title: "Active run" },
    approvals: { render: renderApprovals, poll: 4000, title: "Approvals" },
    runs: { render: renderRuns, poll: 5000, title: "Runs" },
    drills: { render: renderDrills, poll: 10000, title: "Drills" },
    audit: { render: renderAudit, poll: 10000, title: "Audit log" },
  };

  function parseHash() {
    const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
    if (parts.length === 0) return { name: "overview", args: [] };
    if (parts[0] === "runs" && parts[1]) return { name: "run", args: [parts[1]] };
    return { name: routes[parts[0]] ? parts[0] : "overview", args: parts.slice(1) };
  }

  async function ensureMe() {
    if (state.me) return state.me;
    state.me = await api("GET", "/v1/me");
    const person = pick(state.me, "person", "Person") || "?";
    const role = pick(state.me, "role", "Role") || "no role";
    document.getElementById("me").textContent = person + " · " + role;
    document.getElementById("who").hidden = false;
    document.getElementById("nav").hidden = false;
    return state.me;
  }
  function can(what) {
    const c = pick(state.me, "can", "Can") || {};
    return !!pick(c, what, what[0].toUpperCase() + what.slice(1));
  }

  async function navigate() {
    clearTimeout(state.timer);
    const gen = ++state.gen;
    const route = parseHash();
    const r = routes[route.name];
    showBanner("");
    if (!r.public && !token()) {
      location.hash = "#/login";
      return;
    }
    document.querySelectorAll("nav a").forEach((a) => {
      if (a.dataset.route === route.name) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
    document.title = (r.title ? r.title + " · " : "") + "voicedr";
    if (r.public) {
      document.getElementById("who").hidden = true;
      document.getElementById("nav").hidden = true;
      r.render();
      return;
    }
    main.replaceChildren(h("p", { class: "muted", "data-testid": "loading" }, "Loading…"));
    main.focus({ preventScroll: true });
    const tick = async (first) => {
      if (gen !== state.gen) return;
      try {
        await ensureMe();
        const view = await r.render(route.args, first);
        if (gen !== state.gen) return;
        if (view) main.replaceChildren(view);
        showBanner("");
      } catch (e) {
        if (gen !== state.gen || e.status === 401) return;
        if (first) main.replaceChildren(h("p", { class: "error", "data-testid": "page-error" }, e.message));
        else showBanner("Update failed: " + e.message + " — retrying.");
      }
      if (gen === state.gen && r.poll) state.timer = setTimeout(() => tick(false), r.poll);
    };
    await tick(true);
  }

  // changed announces a value's change between polls (not on first sight).
  function changed(key, value, message) {
    const had = Object.prototype.hasOwnProperty.call(state.prev, key);
    const old = state.prev[key];
    state.prev[key] = value;
    if (had && old !== value) announce(message);
  }

  // ---- login ------------------------------------------------------------------

  function renderLogin() {
    const err = h("p", { class: "error", id: "login-error", role: "alert", "data-testid": "login-error" }, state.loginMessage);
    state.loginMessage = "";
    const input = h("input", {
      type: "password", id: "token", name: "token", autocomplete: "off", spellcheck: "false",
      required: true, "aria-describedby": "token-help login-error", "data-testid": "token-input",
    });
    const form = h("form", { class: "card login", "data-testid": "login-form", onsubmit: async (ev) => {
      ev.preventDefault();
      const t = input.value.trim();
      if (!t) { err.textContent = "Paste your API token."; return; }
      sessionStorage.setItem(TOKEN_KEY, t);
      state.me = null;
      try {
        await ensureMe();
        location.hash = "#/";
      } catch (e) {
        if (e.status !== 401) err.textContent = e.message;
        sessionStorage.removeItem(TOKEN_KEY);
        if (e.status === 401) err.textContent = "That token was refused.";
      }
    } },
      h("h1", null, "Sign in to voicedr"),
      h("label", { for: "token" }, "API token"),
      input,
      h("p", { id: "token-help", class: "muted small" },
        "Create one with ", h("code", null, "voicedr token create --person NAME"),
        ". It is kept in this browser tab only (session storage)."),
      err,
      h("button", { type: "submit", class: "primary", "data-testid": "login-submit" }, "Sign in"));
    main.replaceChildren(form);
    input.focus();
  }

  document.getElementById("logout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    state.me = null;
    state.prev = {};
    location.hash = "#/login";
  });

  // ---- overview -------------------------------------------------------------

  async function renderOverview() {
    const [regions, flows, runs, decisions] = await Promise.all([
      api("GET", "/v1/regions"),
      api("GET", "/v1/flows").catch(() => null),
      api("GET", "/v1/runs").catch(() => null),
      api("GET", "/v1/decisions").catch(() => null),
    ]);
    const regionCards = arr(regions).map((r) => {
      const name = pick(r, "region", "Region");
      const status = pick(r, "status", "Status") || "unknown";
      changed("region:" + name, status, "Region " + name + " is now " + status);
      const errText = pick(r, "error", "Error");
      return h("article", { class: "card", "data-testid": "region", "data-region": name, "data-status": status },
        h("header", null, h("h3", null, name), badge(status, tone(status), "region-status")),
        h("dl", { class: "kv" },
          h("dt", null, "API median"), h("dd", null, status === "down" ? "—" : num(pick(r, "median_ms", "MedianMS"), 0) + " ms"),
          h("dt", null, "Checked"), h("dd", null, timeEl(pick(r, "checked_at", "CheckedAt")))),
        errText ? h("p", { class: "error small" }, errText) : null);
    });
    const active = arr(runs).filter((r) => isActive(r.state));
    const open = arr(decisions).filter((d) => !isClosedDecision(d.state));
    const notReady = arr(flows).filter((f) => !f.ready);
    return h("div", null,
      h("h1", null, "Overview"),
      h("section", { "aria-labelledby": "h-regions" },
        h("h2", { id: "h-regions" }, "Regions"),
        regionCards.length ? h("div", { class: "grid cols", "data-testid": "regions" }, regionCards)
          : h("p", { class: "muted" }, "No region health yet.")),
      h("section", { "aria-labelledby": "h-summary" },
        h("h2", { id: "h-summary" }, "At a glance"),
        h("div", { class: "grid cols" },
          h("article", { class: "card", "data-testid": "summary-flows" },
            h("h3", null, "Flows"),
            flows === null ? h("p", { class: "muted" }, "Not visible to your role.") :
              h("p", null, (arr(flows).length - notReady.length) + " of " + arr(flows).length + " ready",
                notReady.length ? [" · ", h("a", { href: "#/flows" }, notReady.length + " with gaps")] : null)),
          h("article", { class: "card", "data-testid": "summary-runs" },
            h("h3", null, "Runs"),
            active.length ? h("ul", null, active.map((r) => h("li", null,
              h("a", { href: "#/runs/" + encodeURIComponent(r.id) }, r.flow + " " + r.kind), " ", badge(r.state, tone(r.state)))))
              : h("p", { class: "muted" }, "No run in progress.")),
          h("article", { class: "card", "data-testid": "summary-decisions" },
            h("h3", null, "Decisions"),
            open.length ? h("p", null, h("a", { href: "#/decisions" }, open.length + " open"))
              : h("p", { class: "muted" }, "No decision open.")))));
  }

  function isActive(s) { return /^(planned|running|paused)$/.test(String(s || "")); }
  function isClosedDecision(s) {
    return /^(closed|rejected|abandoned)$/i.test(String(s || ""));
  }

  // ---- flows ---------------------------------------------------------------------

  async function renderFlows() {
    const flows = arr(await api("GET", "/v1/flows"));
    if (!flows.length) return h("div", null, h("h1", null, "Flows"), h("p", { class: "muted" }, "No flows in the workbook."));
    return h("div", null, h("h1", null, "Flows"),
      h("div", { class: "grid" }, flows.map((f) => {
        const gaps = arr(f.gaps);
        const ready = !!f.ready;
        changed("flow:" + f.flow, String(ready), "Flow " + f.flow + (ready ? " is ready" : " is not ready"));
        return h("article", { class: "card", "data-testid": "flow", "data-flow": f.flow, "aria-labelledby": "flow-" + f.flow },
          h("header", null,
            h("h2", { id: "flow-" + f.flow }, f.flow),
            badge(ready ? "ready" : "not ready", ready ? "ok" : "bad", "flow-ready"),
            h("span", { class: "muted small" }, (f.primary || "?") + " → " + (f.standby || "?"))),
          h("dl", { class: "kv" },
            h("dt", null, "Numbers"), h("dd", null, num(f.numbers)),
            h("dt", null, "Gaps"), h("dd", { "data-testid": "flow-gap-count" }, String(gaps.length),
              typeof f.errors === "number" && f.errors ? " (" + f.errors + " blocking)" : ""),
            h("dt", null, "Checked"), h("dd", null, timeEl(f.checked_at))),
          f.problem ? h("p", { class: "error small", "data-testid": "flow-problem" }, "Not checked: " + f.problem) : null,
          gaps.length ? h("div", null,
            h("h3", null, gaps.length + (gaps.length === 1 ? " gap" : " gaps") + " in the standby"),
            gapList(f.flow, gaps.slice(0, 10)),
            gaps.length > 10 ? h("details", null, h("summary", null, "Show " + (gaps.length - 10) + " more"), gapList(f.flow, gaps.slice(10))) : null)
            : h("p", { class: "muted small" }, "No gaps: the standby is ready for this flow."));
      })));
  }

  function gapList(flow, gaps) {
    return h("ul", { class: "gaps", "aria-label": "Gaps of " + flow },
      gaps.map((g) => h("li", { class: "gap sev-" + String(g.severity || "").toLowerCase(), "data-testid": "gap", "data-kind": g.kind },
        h("div", { class: "row" },
          badge(g.severity || "gap", tone(g.severity)), h("strong", null, g.kind),
          h("span", { class: "muted small" }, [g.region, g.resource].filter(Boolean).join(" · "))),
        g.detail ? h("div", { class: "small" }, g.detail) : null,
        g.remediation ? h("div", { class: "fix small", "data-testid": "gap-remediation" }, g.remediation) : null)));
  }

  // ---- decisions ---------------------------------------------------------------

  // The steps a decision walks (package decision's Order); its body holds
  // the steps recorded so far, and its state is the latest one.
  const DECISION_STEPS = ["detection", "technical_assessment", "business_impact", "approval", "execution", "closed"];

  async function renderDecisions() {
    const ds = arr(await api("GET", "/v1/decisions"));
    if (!ds.length) return h("div", null, h("h1", null, "Decisions"), h("p", { class: "muted", "data-testid": "no-decisions" }, "No decision has been opened."));
    const open = ds.filter((d) => !isClosedDecision(d.state));
    const closed = ds.filter((d) => isClosedDecision(d.state));
    const card = (d, current) => {
      const body = d.body || {};
      const recorded = arr(pick(body, "steps", "Steps"));
      changed("decision:" + d.id, d.state + ":" + recorded.length, "Decision on " + d.flow + " is now at " + humanize(d.state));
      const names = new Set(recorded.map((s) => s.name));
      const pending = current ? DECISION_STEPS.filter((n) => !names.has(n)).map((n) => ({ name: n })) : [];
      const steps = recorded.concat(pending);
      const firstPending = recorded.length < steps.length ? recorded.length : -1;
      const firing = pick(body, "firing", "Firing");
      return h("article", { class: "card", "data-testid": "decision", "data-state": d.state, "data-decision": d.id },
        h("header", null,
          h("h2", null, (current ? "In progress: " : "") + (d.flow || "?")),
          badge(humanize(d.state), tone(d.state), "decision-state"),
          h("span", { class: "muted small" }, "trigger ", h("code", null, d.trigger || "—"))),
        h("p", { class: "muted small" }, "Opened ", timeEl(d.opened_at), " · updated ", timeEl(d.updated_at), " · ", h("code", null, d.id)),
        firing ? firingView(firing) : null,
        h("ol", { class: "steps", "aria-label": "Decision steps" }, steps.map((s, i) => {
          const done = i < recorded.length;
          return h("li", { class: done ? "done" : i === firstPending ? "current" : "", "data-testid": "decision-step", "data-step": s.name,
            "data-done": done ? "true" : "false", "aria-current": i === firstPending ? "step" : null },
            h("strong", null, humanize(s.name)), " ",
            s.owner_role ? h("span", { class: "muted small" }, "owner: " + s.owner_role) : null,
            done ? h("div", { class: "small" }, timeEl(s.at), s.actor ? " by " + s.actor + (s.actor_role && s.actor_role !== s.actor ? " (" + s.actor_role + ")" : "") : "") :
              h("div", { class: "small muted" }, i === firstPending ? "next" : "not yet"),
            s.note ? h("div", { class: "small" }, s.note) : null);
        })));
    };
    return h("div", null, h("h1", null, "Decisions"),
      open.length ? h("section", null, h("div", { class: "grid" }, open.map((d) => card(d, true)))) :
        h("p", { class: "muted" }, "No decision in progress."),
      closed.length ? h("section", null, h("h2", null, "Closed"), h("div", { class: "grid" }, closed.map((d) => card(d, false)))) : null);
  }

  // firingView is the evidence a trigger fired on, charted against its
  // condition.
  function firingView(f) {
    const cond = f.condition || {};
    const ev = arr(f.evidence);
    return h("details", { "data-testid": "decision-firing" },
      h("summary", { class: "small" }, "Fired on ", h("strong", null, f.signal || "?"), " ", (cond.op || ""), " ", num(cond.value), unitStr(cond.unit),
        f.for ? " for " + f.for : "", f.region ? " in " + f.region : "", ev.length ? " (" + ev.length + " measurements)" : ""),
      ev.length ? chart(f.signal || "signal", ev, cond.op ? cond : null, { neutral: true }) : null);
  }

  function stepDone(s) {
    const d = new Date(s.at);
    return !!s.at && !isNaN(d) && d.getUTCFullYear() >= 2000;
  }
  function humanize(s) { s = String(s || "").replace(/_/g, " "); return s.charAt(0).toUpperCase() + s.slice(1); }

  // ---- runs ------------------------------------------------------------------------

  async function renderRuns() {
    const runs = arr(await api("GET", "/v1/runs"));
    const rows = runs.map((r) => h("tr", { "data-testid": "run-row", "data-state": r.state },
      h("td", { "data-label": "Run" }, h("a", { href: "#/runs/" + encodeURIComponent(r.id) }, h("code", null, short(r.id, 16)))),
      h("td", { "data-label": "Flow" }, r.flow),
      h("td", { "data-label": "Kind" }, r.kind),
      h("td", { "data-label": "State" }, badge(r.state, tone(r.state), "run-state")),
      h("td", { "data-label": "Created" }, timeEl(r.created_at)),
      h("td", { "data-label": "Plan" }, h("code", { title: r.plan_digest }, short(r.plan_digest, 12)))));
    return h("div", null, h("h1", null, "Runs"),
      runs.length ? h("table", { class: "stack", "data-testid": "runs" },
        h("caption", { class: "visually-hidden" }, "Runs, newest first"),
        h("thead", null, h("tr", null, ["Run", "Flow", "Kind", "State", "Created", "Plan"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", null, rows)) : h("p", { class: "muted", "data-testid": "no-runs" }, "No runs yet."));
  }

  async function renderActiveRun(args) {
    let id = args[0];
    if (!id) {
      const runs = arr(await api("GET", "/v1/runs"));
      const active = runs.find((r) => isActive(r.state));
      if (!active) {
        return h("div", null, h("h1", null, "Active run"),
          h("p", { class: "muted", "data-testid": "no-active-run" }, "No run is in progress. ",
            runs.length ? h("a", { href: "#/runs/" + encodeURIComponent(runs[0].id) }, "Show the latest run") : null,
            runs.length ? " or the " : "See the ", h("a", { href: "#/runs" }, "runs history"), "."));
      }
      id = active.id;
    }
    const d = await api("GET", "/v1/runs/" + encodeURIComponent(id));
    return runView(d);
  }

  function runView(d) {
    const st = d.status || {};
    const run = d.run || st.run || {};
    const plan = d.plan || {};
    changed("run:" + run.id, run.state, "Run " + run.id + " is " + run.state);
    const cohorts = arr(st.cohorts).length ? arr(st.cohorts) : arr(plan.cohorts).map((c) => ({
      name: c.name, kind: c.kind, actions: Array.isArray(c.actions) ? c.actions.length : c.actions, steps: {} }));
    const gates = arr(d.gates);
    const events = arr(d.events);
    const controls = can("apply") ? runControls(run) : null;
    return h("div", null,
      h("h1", null, "Run ", h("code", { "data-testid": "run-id" }, run.id || "?")),
      h("section", { class: "card", "aria-labelledby": "h-run" },
        h("header", null,
          h("h2", { id: "h-run" }, (plan.flow || run.flow || "?") + " " + (plan.kind || run.kind || "")),
          badge(run.state || "?", tone(run.state), "run-state-badge")),
        h("dl", { class: "kv" },
          h("dt", null, "Move"), h("dd", null, (plan.from || "?") + " → " + (plan.to || "?")),
          h("dt", null, "Started"), h("dd", null, timeEl(run.created_at)),
          h("dt", null, "Plan"), h("dd", null, h("code", null, run.plan_digest || plan.digest || "—")),
          h("dt", null, "Ledger"), h("dd", null, num(st.ledger_records) + " records")),
        controls),
      h("section", { "aria-labelledby": "h-cohorts" },
        h("h2", { id: "h-cohorts" }, "Cohorts"),
        h("div", { class: "grid cols" }, cohorts.map((c) => cohortCard(run.id, c, gates)))),
      gates.length ? h("section", { "aria-labelledby": "h-gates" },
        h("h2", { id: "h-gates" }, "Gates"),
        h("div", { class: "grid" }, gates.map(gateCard))) : null,
      h("section", { "aria-labelledby": "h-events" },
        h("h2", { id: "h-events" }, "Events"),
        events.length ? h("div", { class: "card events" },
          h("ol", { reversed: true, class: "small", "data-testid": "events" },
            events.slice(-100).reverse().map((e) => h("li", null,
              h("span", { class: "muted" }, fmtTime(e.time).slice(11, 19)), " ", h("strong", null, e.type),
              e.cohort ? " " + e.cohort : "", e.total ? " " + (e.done || 0) + "/" + e.total : "", e.msg ? " — " + e.msg : ""))))
          : h("p", { class: "muted" }, "No events recorded.")));
  }

  const STEP_ORDER = ["committed", "proven", "routed", "applied", "intended", "rolled_back", "failed", "pending"];

  function cohortCard(runID, c, gates) {
    const steps = c.steps || {};
    const total = c.actions || Object.values(steps).reduce((a, b) => a + b, 0) || 0;
    const committed = steps.committed || 0;
    const done = total > 0 && committed >= total;
    changed("cohort:" + runID + ":" + c.name, committed, "Cohort " + c.name + ": " + committed + " of " + total + " committed");
    const segs = STEP_ORDER.filter((s) => s !== "pending" && steps[s]).map((s) =>
      h("span", { class: "seg-" + s, style: null, "data-step": s, title: s + ": " + steps[s], "data-width": (100 * steps[s] / Math.max(total, 1)).toFixed(2) }));
    const bar = h("div", { class: "progress", role: "progressbar", "aria-label": "Cohort " + c.name + " committed",
      "aria-valuemin": 0, "aria-valuemax": total, "aria-valuenow": committed, "aria-valuetext": committed + " of " + total + " committed" }, segs);
    // Widths go through the CSSOM (not a style attribute) so the strict CSP holds.
    for (const s of segs) s.style.width = s.getAttribute("data-width") + "%";
    const gate = gates.filter((g) => g.cohort === c.name).slice(-1)[0];
    const outcome = gate ? gate.outcome : pick(c.gate || {}, "outcome");
    return h("article", { class: "card", "data-testid": "cohort", "data-cohort": c.name, "data-step": c.step || "",
      "data-committed-all": done ? "true" : "false" },
      h("header", null, h("h3", null, c.name), c.kind ? h("span", { class: "muted small" }, c.kind) : null,
        badge(c.step || (done ? "committed" : "pending"), tone(c.step || (done ? "committed" : "pending")), "cohort-step"),
        outcome ? badge("gate: " + outcome, tone(outcome), "cohort-gate") : null),
      bar,
      h("p", { class: "small", "data-testid": "cohort-progress" }, committed + " / " + total + " committed"),
      h("ul", { class: "legend", "aria-label": "Actions by step" },
        STEP_ORDER.filter((s) => steps[s]).map((s) => h("li", null, h("i", { class: "seg-" + s, "aria-hidden": "true" }), s + " " + steps[s]))),
      c.reason ? h("p", { class: "small", "data-testid": "cohort-reason" }, c.reason) : null);
  }

  function runControls(run) {
    const s = run.state;
    const msg = h("p", { class: "error", role: "alert", "data-testid": "run-action-error" });
    const btn = (action, label, enabled, cls) => h("button", {
      type: "button", class: cls || "", disabled: !enabled, "data-testid": "run-" + action,
      onclick: async (ev) => {
        if ((action === "abort" || action === "rollback") && !confirm(label + " run " + run.id + "?")) return;
        ev.target.disabled = true;
        msg.textContent = "";
        try {
          const r = await api("POST", "/v1/runs/" + encodeURIComponent(run.id) + "/" + action);
          announce("Run " + run.id + ": " + action + " requested, state " + ((r && r.state) || "unknown"));
          navigate();
        } catch (e) {
          msg.textContent = e.message;
          ev.target.disabled = false;
        }
      } }, label);
    const running = s === "running" || s === "planned";
    return h("div", null,
      h("div", { class: "row", role: "group", "aria-label": "Run controls" },
        btn("pause", "Pause", running),
        btn("resume", "Resume", s === "paused"),
        btn("abort", "Abort", running || s === "paused", "danger"),
        btn("rollback", "Roll back", s !== "rolled_back" && s !== "aborted", "danger")),
      msg);
  }

  // gateCard draws one gate evaluation: a chart per signal.
  function gateCard(g) {
    const series = arr(g.series);
    const bySignal = new Map();
    for (const m of series) {
      if (!bySignal.has(m.signal)) bySignal.set(m.signal, []);
      bySignal.get(m.signal).push(m);
    }
    for (const t of arr(g.thresholds)) if (!bySignal.has(t.signal)) bySignal.set(t.signal, []);
    return h("article", { class: "card", "data-testid": "gate", "data-cohort": g.cohort, "data-gate": g.gate },
      h("header", null, h("h3", null, "Gate " + (g.gate || "?") + " · cohort " + (g.cohort || "?")),
        badge(g.outcome || "pending", tone(g.outcome || "pending"), "gate-outcome")),
      g.reason ? h("p", { class: "small", "data-testid": "gate-reason" }, g.reason) : null,
      h("div", { class: "grid charts" }, [...bySignal.entries()].map(([sig, pts]) => {
        const th = arr(g.thresholds).find((t) => t.signal === sig) || (pts.length ? pts[pts.length - 1].threshold : null);
        return h("figure", { class: "card", style: null, "data-testid": "gate-signal", "data-signal": sig },
          h("figcaption", null, h("strong", null, sig), th ? h("span", { class: "muted small" }, "  pass when " + th.op + " " + num(th.value) + unitStr(th.unit)) : null),
          chart(sig, pts, th),
          h("ul", { class: "legend" },
            h("li", { class: "key-value" }, "— value"), h("li", { class: "key-sample" }, "- - sample size (right axis)"),
            th ? h("li", { class: "key-threshold" }, "- - threshold") : null),
          dataTable(sig, pts));
      })));
  }

  // chart is an SVG line chart of a signal's value (left axis) and sample
  // size (right axis) over time, with the threshold drawn as a line.
  function chart(sig, pts, th, opts) {
    const passColors = !(opts && opts.neutral);
    const W = 560, H = 240, L = 48, R = 44, T = 14, B = 30;
    const pw = W - L - R, ph = H - T - B;
    const measured = pts.filter((p) => !p.missing && typeof p.value === "number");
    const times = pts.map((p) => new Date(p.at).getTime()).filter((t) => !isNaN(t));
    let t0 = Math.min(...times), t1 = Math.max(...times);
    if (!times.length) { t0 = 0; t1 = 1; }
    if (t1 === t0) t1 = t0 + 1000;
    const vals = measured.map((p) => p.value);
    if (th && typeof th.value === "number") vals.push(th.value);
    let vmin = Math.min(0, ...vals), vmax = Math.max(...vals, 1);
    if (th && th.unit === "percent") { vmin = Math.min(vmin, 0); vmax = Math.max(vmax, 100); }
    if (vmax === vmin) vmax = vmin + 1;
    vmax += (vmax - vmin) * 0.08;
    const smax = Math.max(1, ...pts.map((p) => p.sample || 0)) * 1.1;
    const x = (t) => L + ((t - t0) / (t1 - t0)) * pw;
    const y = (v) => T + ph - ((v - vmin) / (vmax - vmin)) * ph;
    const ys = (s) => T + ph - (s / smax) * ph;
    const unit = th ? unitStr(th.unit) : unitStr(pts[0] && pts[0].unit);
    const last = measured[measured.length - 1];
    const label = sig + ": " + (last ? "latest " + num(last.value) + unit + " on " + (last.sample || 0) + " calls" : "no value yet") +
      (th ? "; threshold " + th.op + " " + num(th.value) + unitStr(th.unit) : "");
    const kids = [svg("title", null, label)];
    for (let i = 0; i <= 4; i++) {
      const v = vmin + ((vmax - vmin) * i) / 4;
      kids.push(svg("line", { class: "grid-line", x1: L, x2: L + pw, y1: y(v), y2: y(v) }));
      kids.push(svg("text", { x: L - 4, y: y(v) + 4, "text-anchor": "end" }, tick(v, vmax - vmin)));
      const s = (smax * i) / 4;
      kids.push(svg("text", { x: L + pw + 4, y: ys(s) + 4 }, tick(s, smax)));
    }
    kids.push(svg("line", { class: "axis", x1: L, x2: L, y1: T, y2: T + ph }));
    kids.push(svg("line", { class: "axis", x1: L, x2: L + pw, y1: T + ph, y2: T + ph }));
    if (times.length) {
      kids.push(svg("text", { x: L, y: H - 8 }, fmtTime(new Date(t0).toISOString()).slice(11, 19)));
      kids.push(svg("text", { x: L + pw, y: H - 8, "text-anchor": "end" }, fmtTime(new Date(t1).toISOString()).slice(11, 19)));
    }
    if (th && typeof th.value === "number") {
      kids.push(svg("line", { class: "threshold", "data-testid": "threshold-line", x1: L, x2: L + pw, y1: y(th.value), y2: y(th.value) }));
      kids.push(svg("text", { class: "th-label", x: L + 4, y: y(th.value) - 4 }, th.op + " " + num(th.value) + unitStr(th.unit)));
    }
    const sampled = pts.filter((p) => !isNaN(new Date(p.at).getTime()));
    if (sampled.length) {
      kids.push(svg("polyline", { class: "sample", "data-testid": "sample-line",
        points: sampled.map((p) => x(new Date(p.at).getTime()).toFixed(1) + "," + ys(p.sample || 0).toFixed(1)).join(" ") }));
    }
    if (measured.length) {
      kids.push(svg("polyline", { class: "value", "data-testid": "value-line",
        points: measured.map((p) => x(new Date(p.at).getTime()).toFixed(1) + "," + y(p.value).toFixed(1)).join(" ") }));
      for (const p of measured) {
        kids.push(svg("circle", { class: "value-dot" + (p.pass || !passColors ? "" : " fail"), r: 3, cx: x(new Date(p.at).getTime()).toFixed(1), cy: y(p.value).toFixed(1) },
          svg("title", null, fmtTime(p.at).slice(11, 19) + ": " + num(p.value) + unit + " on " + (p.sample || 0) + (passColors ? (p.pass ? " (pass)" : " (fail)") : ""))));
      }
    }
    return svg("svg", { class: "chart", viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": label,
      "data-testid": "gate-chart", preserveAspectRatio: "xMidYMid meet" }, kids);
  }

  function tick(v, range) {
    const d = range < 2 ? 2 : range < 20 ? 1 : 0;
    return String(Number(v.toFixed(d)));
  }

  function dataTable(sig, pts) {
    if (!pts.length) return h("p", { class: "muted small" }, "No measurement yet.");
    return h("details", null, h("summary", { class: "small" }, "Data (" + pts.length + " evaluations)"),
      h("table", { class: "small" },
        h("caption", { class: "visually-hidden" }, "Measurements of " + sig),
        h("thead", null, h("tr", null, ["Time", "Value", "Sample", "Result"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", null, pts.map((p) => h("tr", null,
          h("td", null, fmtTime(p.at).slice(11, 19)),
          h("td", null, p.missing ? "—" : num(p.value) + unitStr(p.unit)),
          h("td", null, String(p.sample || 0)),
          h("td", null, p.missing ? "missing: " + p.missing : p.pass ? "pass" : "fail"))))));
  }

  // ---- approvals ------------------------------------------------------------------

  const drafts = {}; // reason text per digest, kept across polls

  async function renderApprovals(args, first) {
    // Do not rebuild the inbox under someone typing or pressing a button.
    if (!first && main.contains(document.activeElement) && document.activeElement !== main) return null;
    const items = arr(await api("GET", "/v1/approvals"));
    const canApprove = can("approve");
    const pending = items.filter((a) => !pick(a.status || {}, "Satisfied", "satisfied"));
    const done = items.filter((a) => pick(a.status || {}, "Satisfied", "satisfied"));
    for (const a of items) {
      const st = a.status || {};
      changed("approval:" + a.digest, String(!!pick(st, "Satisfied", "satisfied")) + arr(pick(st, "Approvals", "approvals")).length,
        "Plan " + short(a.digest, 12) + " for " + a.flow + ": " + (pick(st, "Reason", "reason") || "updated"));
    }
    return h("div", null, h("h1", null, "Approvals"),
      canApprove ? null : h("p", { class: "muted", "data-testid": "cannot-approve" }, "Your role cannot approve; the inbox is read-only."),
      h("section", { "aria-labelledby": "h-pending" },
        h("h2", { id: "h-pending" }, "Waiting for approval (" + pending.length + ")"),
        pending.length ? h("div", { class: "grid" }, pending.map((a) => approvalCard(a, canApprove)))
          : h("p", { class: "muted", "data-testid": "inbox-empty" }, "Nothing is waiting for you.")),
      done.length ? h("section", { "aria-labelledby": "h-done" },
        h("h2", { id: "h-done" }, "Approved"),
        h("div", { class: "grid" }, done.map((a) => approvalCard(a, canApprove)))) : null);
  }

  function approvalCard(a, canApprove) {
    const st = a.status || {};
    const satisfied = !!pick(st, "Satisfied", "satisfied");
    const breakGlass = !!pick(st, "BreakGlass", "break_glass");
    const vetoed = !!pick(st, "Vetoed", "vetoed");
    const requesters = arr(pick(st, "Requesters", "requesters"));
    const records = arr(pick(st, "Approvals", "approvals"));
    const counted = arr(pick(st, "Counted", "counted"));
    const countedIDs = new Set(counted.map((c) => pick(c, "id", "ID")));
    const id = "ap-" + String(a.digest || "").slice(0, 16).replace(/[^a-zA-Z0-9]/g, "");
    const err = h("p", { class: "error", role: "alert", "data-testid": "approval-error" });
    const reason = h("textarea", { id: id + "-reason", rows: 2, "data-testid": "approval-reason" });
    reason.value = drafts[a.digest] || "";
    reason.addEventListener("input", () => { drafts[a.digest] = reason.value; });
    const decide = (decision) => async (ev) => {
      err.textContent = "";
      if (decision === "break_glass" && !reason.value.trim()) {
        err.textContent = "Break-glass needs a named reason.";
        reason.focus();
        return;
      }
      const buttons = ev.target.closest("form").querySelectorAll("button");
      buttons.forEach((b) => { b.disabled = true; });
      try {
        const r = await api("POST", "/v1/approvals", { digest: a.digest, decision, reason: reason.value.trim() });
        delete drafts[a.digest];
        const s2 = (r && r.status) || {};
        announce("Recorded " + decision + " on plan " + short(a.digest, 12) + ". " + (pick(s2, "Reason", "reason") || ""));
        navigate();
      } catch (e) {
        if (e.status === 401) return;
        err.textContent = (e.status === 403 ? "Refused: " : "") + e.message;
        buttons.forEach((b) => { b.disabled = false; });
      }
    };
    return h("article", { class: "card" + (breakGlass ? " flag" : ""), "data-testid": "approval", "data-digest": a.digest,
      "data-satisfied": satisfied ? "true" : "false", "aria-labelledby": id + "-h" },
      h("header", null,
        h("h3", { id: id + "-h" }, (a.flow || "?") + " " + (a.kind || "")),
        badge(satisfied ? "approved" : vetoed ? "vetoed" : "waiting", satisfied ? "ok" : vetoed ? "bad" : "warn", "approval-state"),
        breakGlass ? badge("break-glass: review", "bad", "break-glass") : null),
      h("dl", { class: "kv" },
        h("dt", null, "Plan"), h("dd", null, h("code", null, a.digest)),
        h("dt", null, "Requested"), h("dd", null, timeEl(a.created_at), requesters.length ? " by " + requesters.join(", ") : ""),
        h("dt", null, "Policy"), h("dd", null, pick(st, "Policy", "policy") || "—"),
        h("dt", null, "Status"), h("dd", { "data-testid": "approval-status" }, pick(st, "Reason", "reason") || (satisfied ? "satisfied" : "—"))),
      records.length ? h("ul", { class: "small", "aria-label": "Decisions recorded", "data-testid": "approval-records" }, records.map((r) => {
        const dec = pick(r, "decision", "Decision");
        return h("li", { "data-testid": "approval-record", "data-person": pick(r, "person", "Person"), "data-decision": dec },
          badge(dec, tone(dec)), " ", pick(r, "person", "Person"), " (", pick(r, "role", "Role") || "?", ") ",
          timeEl(pick(r, "at", "At")), countedIDs.has(pick(r, "id", "ID")) ? " · counts" : " · does not count",
          pick(r, "reason", "Reason") ? " — " + pick(r, "reason", "Reason") : "");
      })) : h("p", { class: "muted small" }, "No approvals recorded yet."),
      canApprove && !satisfied ? h("form", { onsubmit: (ev) => ev.preventDefault(), "aria-label": "Decide on plan " + short(a.digest, 12) },
        h("label", { for: id + "-reason" }, "Reason (optional; required for break-glass)"),
        reason,
        h("div", { class: "row" },
          h("button", { type: "button", class: "primary", "data-testid": "approve", onclick: decide("approve") }, "Approve"),
          h("button", { type: "button", class: "danger", "data-testid": "reject", onclick: decide("reject") }, "Reject"),
          h("span", { class: "spacer" }),
          h("button", { type: "button", class: "link", "data-testid": "break-glass-button", onclick: decide("break_glass") }, "Break glass…")),
        err) : null);
  }

  // ---- drills and action items ------------------------------------------------------

  function dur(sec) {
    if (typeof sec !== "number" || !isFinite(sec) || sec <= 0) return "—";
    const m = Math.floor(sec / 60), r = Math.round(sec % 60);
    return m ? m + "m " + pad(r) + "s" : r + "s";
  }

  // reportPanel shows one drill's report. It lives outside the view that
  // polling rebuilds, so a report being read is not torn down every poll.
  let reportPanel = null;

  async function renderDrills(args, first) {
    // Do not rebuild under someone pressing a button.
    if (!first && main.contains(document.activeElement) && document.activeElement !== main) return null;
    const [drills, items] = await Promise.all([api("GET", "/v1/drills"), api("GET", "/v1/actions")]);
    const mayClose = can("apply") || can("admin");
    const open = arr(items);
    changed("actions:open", String(open.length), open.length + " action items open");
    const rows = arr(drills).map((d) => {
      const rto = d.report ? dur(d.rto_seconds) + (d.objective_seconds ? " / " + dur(d.objective_seconds) : "") : "—";
      return h("tr", { "data-testid": "drill-row", "data-drill": d.id, "data-outcome": d.outcome },
        h("td", { "data-label": "Started" }, timeEl(d.started_at)),
        h("td", { "data-label": "Flow" }, d.flow, d.name ? h("div", { class: "muted small" }, d.name) : null),
        h("td", { "data-label": "Drill" }, d.kind, " ", h("span", { class: "muted small" }, d.scenario)),
        h("td", { "data-label": "Outcome" }, badge(humanize(d.outcome), tone(d.outcome), "drill-outcome")),
        h("td", { "data-label": "RTO" }, rto, " ", d.report && d.objective_seconds ? badge(d.met ? "met" : "missed", d.met ? "ok" : "bad", "drill-met") : null),
        h("td", { "data-label": "Calls lost", "data-testid": "drill-lost" }, d.report ? String(d.calls_lost) : "—"),
        h("td", { "data-label": "Gaps" }, d.report ? String(d.gaps) : "—"),
        h("td", { "data-label": "As expected" }, d.report ? badge(d.as_expected ? "yes" : "no", d.as_expected ? "ok" : "bad", "drill-as-expected") : "—"),
        h("td", { "data-label": "Report" }, d.report ? h("button", { type: "button", class: "link", "data-testid": "drill-report",
          onclick: () => showReport(d).catch((e) => showBanner("The report could not be shown: " + e.message)) }, "View report") : h("span", { class: "muted small" }, "not yet")));
    });
    return h("div", null, h("h1", null, "Drills"),
      h("section", { "aria-labelledby": "h-actions" },
        h("h2", { id: "h-actions" }, "Open action items (" + open.length + ")"),
        open.length ? h("ul", { class: "gaps", "data-testid": "actions" }, open.map((a) => actionItem(a, mayClose)))
          : h("p", { class: "muted", "data-testid": "no-actions" }, "No action item is open.")),
      h("section", { "aria-labelledby": "h-drills" },
        h("h2", { id: "h-drills" }, "History"),
        rows.length ? h("table", { class: "stack", "data-testid": "drills" },
          h("caption", { class: "visually-hidden" }, "Drills, newest first"),
          h("thead", null, h("tr", null, ["Started", "Flow", "Drill", "Outcome", "RTO / objective", "Calls lost", "Gaps", "As expected", "Report"]
            .map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", null, rows))
          : h("p", { class: "muted", "data-testid": "no-drills" }, "No drill has been run: ", h("code", null, "voicedr drill --flow FLOW --scenario primary-voice-down"))),
      reportPanel);
  }

  function actionItem(a, mayClose) {
    const err = h("span", { class: "error small", role: "alert" });
    const close = async (ev) => {
      const note = window.prompt("Close \u201c" + a.title + "\u201d: what was done?");
      if (note === null) return;
      if (!note.trim()) { err.textContent = "A note is required."; return; }
      ev.target.disabled = true;
      try {
        await api("POST", "/v1/actions/" + encodeURIComponent(a.id) + "/close", { note: note.trim() });
        announce("Closed action item " + a.title);
        navigate();
      } catch (e) {
        if (e.status === 401) return;
        err.textContent = (e.status === 403 ? "Refused: " : "") + e.message;
        ev.target.disabled = false;
      }
    };
    return h("li", { class: "gap sev-error", "data-testid": "action", "data-action": a.id },
      h("div", { class: "row" }, h("strong", null, a.title), h("span", { class: "spacer" }),
        mayClose ? h("button", { type: "button", "data-testid": "action-close", onclick: close }, "Close…") : null),
      h("div", { class: "muted small" }, [a.flow, a.owner ? "owner " + a.owner : "", "drill " + short(a.drill_id, 16)].filter(Boolean).join(" · "),
        " · opened ", timeEl(a.created_at)),
      err);
  }

  // showReport fetches a drill's report.html with the token (a link could
  // not carry it) and shows it in a shadow root: the page's markup is parsed
  // inert (DOMParser runs no script), scripts and frames are dropped, and
  // its one stylesheet is adopted as a constructed sheet, so it renders
  // styled under the dashboard's own CSP (which refuses inline styles and
  // would be inherited by a blob: or srcdoc document) without leaking into
  // the dashboard.
  async function showReport(d) {
    const host = h("div", { class: "report-host", "data-testid": "report-view" });
    const title = "Report of drill " + short(d.id, 24);
    const resp = await fetch("/v1/drills/" + encodeURIComponent(d.id) + "/report.html", { headers: { Authorization: "Bearer " + token() } });
    const text = await resp.text();
    const doc = new DOMParser().parseFromString(resp.ok ? text : "<p></p>", "text/html");
    doc.querySelectorAll("script, iframe, object, embed, link, meta, base, form").forEach((el) => el.remove());
    const root = host.attachShadow({ mode: "open" });
    if (!resp.ok) {
      root.append(h("p", { class: "error" }, "The report could not be read: " + resp.status));
    } else {
      let css = "";
      doc.querySelectorAll("style").forEach((st) => { css += st.textContent + "\n"; st.remove(); });
      const sheet = new CSSStyleSheet();
      // The page's document-level selectors mean the shadow host here.
      sheet.replaceSync(css.replace(/(^|[\s,}])(:root|html|body)(?=[\s,{])/g, "$1:host"));
      root.adoptedStyleSheets = [sheet];
      root.append(...Array.from(doc.body.childNodes).map((n) => document.importNode(n, true)));
    }
    const blob = URL.createObjectURL(new Blob([text], { type: "text/html" }));
    reportPanel = h("section", { class: "card report", "aria-labelledby": "h-report", "data-testid": "report-panel" },
      h("header", null, h("h2", { id: "h-report", tabindex: "-1" }, title), h("span", { class: "spacer" }),
        resp.ok ? h("a", { href: blob, download: "drill-" + d.id + ".html", class: "small" }, "Download") : null,
        h("button", { type: "button", class: "link", "data-testid": "report-close", onclick: () => {
          URL.revokeObjectURL(blob);
          reportPanel.remove();
          reportPanel = null;
        } }, "Close report")),
      host);
    const view = main.firstElementChild;
    if (view) view.append(reportPanel);
    reportPanel.querySelector("h2").focus();
    announce(title + " shown");
  }

  // ---- audit -----------------------------------------------------------------------

  async function renderAudit() {
    const [v, entries] = await Promise.all([
      api("GET", "/v1/audit/verify").catch((e) => { if (e.status === 401) throw e; return { error: e.message }; }),
      api("GET", "/v1/audit?limit=50"),
    ]);
    const ok = !!pick(v, "OK", "ok", "Ok");
    const firstBad = pick(v, "first_bad", "FirstBad", "firstBad");
    changed("audit:ok", String(ok), ok ? "Audit chain verifies" : "Audit chain does not verify");
    const list = arr(entries);
    return h("div", null, h("h1", null, "Audit log"),
      h("section", { class: "card" + (ok ? "" : " flag"), "data-testid": "audit-verify", "data-ok": ok ? "true" : "false", "aria-labelledby": "h-verify" },
        h("header", null, h("h2", { id: "h-verify" }, "Chain verification"),
          badge(v.error ? "unknown" : ok ? "verified" : "broken", v.error ? "warn" : ok ? "ok" : "bad", "audit-verify-status")),
        v.error ? h("p", { class: "error" }, v.error) : h("dl", { class: "kv" },
          h("dt", null, "Entries"), h("dd", null, num(pick(v, "entries", "Entries"))),
          h("dt", null, "Checkpoints"), h("dd", null, num(pick(v, "checkpoints", "Checkpoints"))),
          pick(v, "head", "Head") !== undefined ? [h("dt", null, "Head"), h("dd", null, "#" + pick(v, "head", "Head"))] : null,
          pick(v, "checkpointed_through", "CheckpointedThrough") !== undefined ? [h("dt", null, "Signed through"),
            h("dd", null, "#" + pick(v, "checkpointed_through", "CheckpointedThrough") +
              (pick(v, "not_yet_checkpointed", "Pending") ? " (" + pick(v, "not_yet_checkpointed", "Pending") + " pending)" : ""))] : null,
          !ok && firstBad ? [h("dt", null, "First bad entry"), h("dd", { class: "error", "data-testid": "audit-first-bad" },
            typeof firstBad === "object" ? "#" + pick(firstBad, "seq", "Seq") + " " + (pick(firstBad, "kind", "Kind") || "") +
              (pick(firstBad, "reason", "Reason") ? ": " + pick(firstBad, "reason", "Reason") : "") : String(firstBad))] : null,
          pick(v, "reason", "Reason", "Error") ? [h("dt", null, "Reason"), h("dd", null, pick(v, "reason", "Reason", "Error"))] : null)),
      h("section", { "aria-labelledby": "h-entries" },
        h("h2", { id: "h-entries" }, "Latest entries"),
        list.length ? h("table", { class: "stack", "data-testid": "audit-entries" },
          h("thead", null, h("tr", null, ["#", "Time", "Kind", "Actor", "Subject", "Hash"].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", null, list.slice().sort((a, b) => b.seq - a.seq).map((e) => h("tr", { "data-testid": "audit-entry" },
            h("td", { "data-label": "#" }, String(e.seq)),
            h("td", { "data-label": "Time" }, fmtTime(e.at)),
            h("td", { "data-label": "Kind" }, e.kind),
            h("td", { "data-label": "Actor" }, e.actor),
            h("td", { "data-label": "Subject" }, h("code", { title: e.subject }, short(e.subject, 24))),
            h("td", { "data-label": "Hash" }, h("code", { title: e.hash }, short(e.hash, 12)))))))
          : h("p", { class: "muted" }, "The audit log is empty.")));
  }

  window.addEventListener("hashchange", navigate);
  navigate();
})();
