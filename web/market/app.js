// app.js: what every page of the market shares.
//
// Safety rule of this UI: text a user typed (names, descriptions,
// addresses, anything from the API) reaches the page only through
// textContent or attribute setters, never through innerHTML.  el() below is
// the one way pages build DOM; the server's Content-Security-Policy forbids
// inline script as a second line of defence.

export const NC = { me: null, csrf: null };

// el("a", {href: "/x", class: "c"}, "text", child, ...): an element whose
// children are nodes or strings (as text nodes).  "on*" keys are listeners.
export function el(tag, attrs, ...children) {
  const svg = ["svg", "path", "line", "circle", "text", "g", "rect", "polyline", "title"]
    .includes(tag);
  const e = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag)
                : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "href" && !(String(v).startsWith("/") || String(v).startsWith("#")))
      throw new Error("only links inside the market");
    else if (k === "dataset") Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// Replaces @node's children by @content: a node, a string or an array of
// them (append() alone would turn an array into "[object ...]" text).
export function fillWith(node, content) {
  clear(node).append(...[content].flat());
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// A request that failed in the network (Chrome drops requests in flight
// when a network interface comes or goes, as tap devices do on a host that
// starts VMs) is sent again when doing it twice is harmless: reads, and
// calls the caller marks idempotent (start, stop: the backend's state is
// the same after one or two).
export async function api(method, path, body, opts = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && NC.csrf) headers["X-CSRF-Token"] = NC.csrf;
  const tries = method === "GET" || opts.idempotent ? 3 : 1;
  let r = null;
  for (let i = 1; ; i++) {
    try {
      r = await fetch(path, {
        method, headers, credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      break;
    } catch (e) {
      if (i >= tries) throw e;
      await new Promise((ok) => setTimeout(ok, 300 * i));
    }
  }
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  if (!r.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(r.status, err.code || "error", err.message || `HTTP ${r.status}`);
  }
  return data;
}

export async function loadMe() {
  try {
    const me = await api("GET", "/market/v1/session");
    NC.me = me.user;
    NC.csrf = me.csrf_token || null;
  } catch (e) {
    NC.me = null;
    NC.csrf = null;
  }
  return NC.me;
}

export function header(active) {
  const nav = el("nav", { class: "top" },
    el("a", { href: "/", class: "brand" }, "nestcloud market"),
    el("a", { href: "/", class: active === "catalogue" ? "on" : null }, "Catalogue"));
  if (NC.me) {
    nav.append(
      el("a", { href: "/contracts", class: active === "contracts" ? "on" : null,
                id: "nav-contracts" }, "My contracts"),
      el("a", { href: "/provider", class: active === "provider" ? "on" : null,
                id: "nav-provider" }, "Provider"),
      el("a", { href: "/account", class: active === "account" ? "on" : null,
                id: "nav-account" }, "Account"),
      el("span", { class: "who", id: "who" }, NC.me.name),
      el("button", { class: "link", id: "logout", onclick: logout }, "Log out"));
  } else {
    nav.append(el("span", { class: "who" }),
      el("a", { href: "/login", id: "nav-login" }, "Log in"),
      el("a", { href: "/register", id: "nav-register" }, "Register"));
  }
  const h = document.getElementById("header");
  clear(h).append(nav);
}

async function logout() {
  try { await api("DELETE", "/market/v1/session"); } catch (e) { /* gone anyway */ }
  location.href = "/";
}

export function showError(where, err) {
  const box = typeof where === "string" ? document.getElementById(where) : where;
  clear(box).append(el("div", { class: "error", role: "alert" }, err.message || String(err)));
}

export function showOk(where, text) {
  const box = typeof where === "string" ? document.getElementById(where) : where;
  clear(box).append(el("div", { class: "ok", role: "status" }, text));
}

export function money(v, currency) {
  if (v === null || v === undefined) return "–";
  const n = Number(v);
  const digits = Math.abs(n) >= 1 ? 2 : 4;
  return `${currency === "EUR" || !currency ? "€" : currency + " "}${n.toFixed(digits)}`;
}

export function perHour(v, currency) {
  return `${money(v, currency)}/h`;
}

export function mib(v) {
  if (!v) return "–";
  return v >= 1024 ? `${(v / 1024).toFixed(v % 1024 ? 1 : 0)} GiB` : `${v} MiB`;
}

export function when(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

export function percent(v) {
  return v === null || v === undefined ? "not measured yet" : `${Number(v).toFixed(2)} %`;
}

export function resources(o) {
  if (o.kind === "storage") return `${o.storage_gib} GiB storage`;
  const parts = [`${o.vcpus} vCPU`, mib(o.memory_mib)];
  if (o.disk_gib) parts.push(`${o.disk_gib} GiB disk`);
  return parts.join(", ");
}

export function depthLabel(b) {
  if (!b) return "–";
  if (!b.depth) return "0 (direct)";
  const up = b.upstream && b.upstream.provider ? ` on ${b.upstream.provider.company}` : "";
  return `${b.depth} (resold${up})`;
}

// The contract state machine of contracts.h, with the current state lit.
export const CONTRACT_STATES = ["requested", "agreed", "active", "notice", "ended"];
export function stateMachine(current, reason) {
  const box = el("div", { class: "machine", "aria-label": `contract state: ${current}` });
  CONTRACT_STATES.forEach((s, i) => {
    if (i) box.append(el("span", { class: "arrow" }, s === "notice" ? "⇄" : "→"));
    box.append(el("span", { class: "st" + (s === current ? " on" : ""), dataset: { state: s } }, s));
  });
  if (reason) box.append(el("div", { class: "why" }, reason));
  return box;
}

// Server-Sent Events with reconnection handled by the browser.  A page
// loads its data, then subscribes: what changed in between never comes as
// an event.  So each time the stream opens (the first time, and after a
// reconnection) the page hears "resync" with no data, as it does when the
// server says it lost track, and loads again.
export function events(query, onEvent) {
  const src = new EventSource("/market/v1/events" + (query ? "?" + query : ""));
  for (const t of ["price", "contract", "allocation", "offer", "backend", "resync"])
    src.addEventListener(t, (e) => {
      try { onEvent(t, JSON.parse(e.data)); } catch (err) { /* ignore a bad line */ }
    });
  src.addEventListener("open", () => onEvent("resync", null));
  // A page left for another may be kept whole for the Back button (the
  // back/forward cache), its stream still open.  The browser gives a site
  // six connections: five pages kept that way left none for the sixth
  // page's requests, which waited until a stream was closed.  So a page
  // closes its stream when it is left, and loads afresh if it comes back.
  addEventListener("pagehide", () => src.close());
  addEventListener("pageshow", (e) => { if (e.persisted) location.reload(); });
  return src;
}

// Form fields to an object: numbers for type=number, booleans for checkboxes,
// nothing for empty optional fields.
export function formData(form) {
  const out = {};
  for (const f of form.elements) {
    if (!f.name || f.disabled) continue;
    if (f.type === "checkbox") out[f.name] = f.checked;
    else if (f.value === "") continue;
    else if (f.type === "number") out[f.name] = Number(f.value);
    else out[f.name] = f.value;
  }
  return out;
}

export function field(label, input, hint) {
  return el("label", { class: "field" }, el("span", null, label), input,
            hint ? el("small", null, hint) : null);
}

// A price chart: a step line of clearing prices over time, drawn in SVG.
export class PriceChart {
  constructor(container, currency) {
    this.points = [];
    this.currency = currency;
    this.svg = el("svg", { class: "chart", viewBox: "0 0 640 240", role: "img",
                           "aria-label": "price history" });
    container.append(this.svg);
  }
  set(points) {
    this.points = points.map((p) => ({ t: Date.parse(p.timestamp), price: Number(p.price) }))
      .filter((p) => !Number.isNaN(p.t)).slice(-300);
    this.draw();
  }
  add(p) {
    this.points.push({ t: Date.parse(p.timestamp), price: Number(p.price) });
    if (this.points.length > 300) this.points.shift();
    this.draw();
  }
  draw() {
    const svg = clear(this.svg);
    const W = 640, H = 240, L = 64, R = 12, T = 14, B = 30;
    svg.append(el("rect", { x: L, y: T, width: W - L - R, height: H - T - B, class: "plot" }));
    if (!this.points.length) {
      svg.append(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "muted" },
                    "no clearing yet"));
      return;
    }
    const ts = this.points.map((p) => p.t), ps = this.points.map((p) => p.price);
    let t0 = Math.min(...ts), t1 = Math.max(...ts);
    if (t1 - t0 < 1000) t0 = t1 - 60000;
    let p0 = Math.min(...ps), p1 = Math.max(...ps);
    if (p1 - p0 < 1e-9) { p0 = Math.max(0, p0 * 0.8); p1 = p1 * 1.2 + 1e-6; }
    const pad = (p1 - p0) * 0.1;
    p0 = Math.max(0, p0 - pad); p1 += pad;
    const x = (t) => L + (t - t0) / (t1 - t0) * (W - L - R);
    const y = (p) => T + (1 - (p - p0) / (p1 - p0)) * (H - T - B);
    for (let i = 0; i <= 4; i++) {
      const v = p0 + (p1 - p0) * i / 4;
      svg.append(el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }),
                 el("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", class: "axis" },
                    money(v, this.currency)));
    }
    const fmt = (t) => new Date(t).toLocaleTimeString();
    svg.append(el("text", { x: L, y: H - 8, class: "axis" }, fmt(t0)),
               el("text", { x: W - R, y: H - 8, "text-anchor": "end", class: "axis" }, fmt(t1)));
    let d = "";
    this.points.forEach((p, i) => {
      d += i === 0 ? `M${x(p.t)},${y(p.price)}`
                   : `H${x(p.t)}V${y(p.price)}`;
    });
    svg.append(el("path", { d, class: "line" }));
    const last = this.points[this.points.length - 1];
    svg.append(el("circle", { cx: x(last.t), cy: y(last.price), r: 4, class: "dot" },
                  el("title", null, `${money(last.price, this.currency)} at ${fmt(last.t)}`)));
    svg.dataset.points = String(this.points.length);
    svg.dataset.last = String(last.price);
  }
}
