// provider.js: the provider's side: backends and their measured health,
// offers, requests to decide, and resale (break-even).
import { NC, api, clear, fillWith, depthLabel, el, events, field, formData, header, loadMe, money,
         percent, perHour, resources, showError, showOk, stateMachine, when } from "./app.js";

let backends = [];

function backendCard(b) {
  const q = b.quality || {};
  const card = el("div", { class: "item", dataset: { backend: b.id } },
    el("div", { class: "item-head" }, el("strong", { class: "backend-name" }, b.name),
       el("span", { class: `pill ${b.state}`, dataset: { role: "state" } }, b.state),
       b.accel ? el("span", { class: "pill" }, b.accel) : null),
    el("div", { class: "muted small" }, b.url, " · token stored sealed, never shown again"),
    el("div", null, `availability 24 h ${percent(q.availability_24h)} · probes ${
      q.probes_24h ?? 0} (${q.failed_probes_24h ?? 0} failed) · launch ${
      q.launch_ms == null ? "–" : (q.launch_ms / 1000).toFixed(1) + " s"} · interruptions ${
      q.interruptions_30d ?? 0} · depth ${depthLabel(b)}`),
    b.last_error ? el("div", { class: "error small" }, b.last_error) : null,
    el("div", { class: "actions" },
       b.resale ? el("button", { class: "secondary", onclick: () => breakEven(b, card) },
                     "Break-even") : null,
       el("button", { class: "danger", onclick: async () => {
         if (!confirm(`Remove backend ${b.name}? Its offers are withdrawn.`)) return;
         try { await api("DELETE", `/market/v1/backends/${b.id}`); load(); }
         catch (e) { showError(card, e); }
       } }, "Remove")));
  return card;
}

async function breakEven(b, card) {
  try {
    const x = await api("GET", `/market/v1/backends/${b.id}/break-even`);
    card.append(el("div", { class: "breakeven", id: "break-even" },
      `Rental ${perHour(x.rental_cost_per_hour, x.currency)} against revenue ${
        perHour(x.revenue_per_hour, x.currency)}; ${x.slots_sold} of ${x.slots} slots sold (${
        x.occupancy_percent.toFixed(0)} %). Break-even at ${
        x.slots_to_break_even ?? "–"} slots${x.occupancy_to_break_even_percent == null ? ""
          : ` (${x.occupancy_to_break_even_percent.toFixed(0)} %)`}. To date: rental ${
        money(x.rental_cost_to_date, x.currency)}, revenue ${
        money(x.revenue_to_date, x.currency)}.`));
  } catch (e) {
    showError(card, e);
  }
}

async function backendSection() {
  const status = el("div", { id: "backend-status" });
  const upstream = el("select", { name: "upstream_allocation", id: "upstream" },
    el("option", { value: "" }, "no: my own infrastructure"));
  try {
    const allocs = await api("GET", "/market/v1/allocations");
    for (const a of allocs.allocations)
      if (a.desired === "present" && a.kind === "compute")
        upstream.append(el("option", { value: a.id },
                           `${a.name} on ${a.backend.name} (${a.state})`));
  } catch (e) { /* none */ }
  const form = el("form", { id: "backend-form" },
    field("Name", el("input", { name: "name", id: "backend-name", required: true,
                                maxlength: 80 })),
    field("nestcloud API URL", el("input", { name: "url", id: "backend-url", required: true,
                                             placeholder: "http://203.0.113.7:7400" })),
    field("API token", el("input", { name: "token", id: "backend-token", type: "password",
                                     required: true, autocomplete: "off" }),
          "checked against the backend now, then stored sealed"),
    field("Resold from one of my allocations?", upstream,
          "a Nested Cloud running in a VM you rent here: buyers see depth and upstream"),
    el("div", { class: "actions" }, el("button", { type: "submit", id: "backend-submit" },
                                       "Register backend")),
    status);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api("POST", "/market/v1/backends", formData(form));
      form.reset();
      showOk(status, "Registered. The market probes it from now on.");
      load();
    } catch (err) {
      showError(status, err);
    }
  });
  return el("section", { class: "card", id: "backends-section" }, el("h2", null, "Backends"),
            el("div", { id: "backend-list" }), el("h3", null, "Register a backend"), form);
}

function offerForm() {
  const status = el("div", { id: "offer-status" });
  const kind = el("select", { name: "kind", id: "offer-kind" },
                  el("option", { value: "compute" }, "compute"),
                  el("option", { value: "storage" }, "storage"));
  const compute = el("div", { class: "row" },
    field("vCPUs", el("input", { name: "vcpus", id: "offer-vcpus", type: "number", min: 1,
                                 value: 1 })),
    field("Memory (MiB)", el("input", { name: "memory_mib", id: "offer-memory", type: "number",
                                        min: 64, value: 128 })),
    field("Disk (GiB)", el("input", { name: "disk_gib", id: "offer-disk", type: "number",
                                      min: 1 })));
  const storage = el("div", { class: "row", hidden: true },
    field("Storage (GiB)", el("input", { name: "storage_gib", id: "offer-storage",
                                         type: "number", min: 1, value: 10, disabled: true })));
  kind.addEventListener("change", () => {
    const c = kind.value === "compute";
    compute.hidden = !c;
    storage.hidden = c;
    for (const i of compute.querySelectorAll("input")) i.disabled = !c;
    for (const i of storage.querySelectorAll("input")) i.disabled = c;
  });
  const form = el("form", { id: "offer-form" },
    field("Backend", el("select", { name: "backend", id: "offer-backend", required: true },
      backends.map((b) => el("option", { value: b.id }, b.name)))),
    field("Kind", kind),
    field("Name", el("input", { name: "name", id: "offer-name", required: true, maxlength: 80 })),
    field("Description", el("textarea", { name: "description", id: "offer-description",
                                          rows: 3, maxlength: 4000 })),
    compute, storage,
    el("div", { class: "row" },
      field("Slots", el("input", { name: "slots", id: "offer-slots", type: "number", min: 1,
                                   value: 2, required: true })),
      field("Reserve price (€/slot-hour)", el("input", { name: "reserve_price",
        id: "offer-reserve", type: "text", value: "0.01", required: true })),
      field("Pricing", el("select", { name: "pricing", id: "offer-pricing" },
        el("option", { value: "spot" }, "spot"), el("option", { value: "fixed" }, "fixed")))),
    el("label", { class: "check" }, el("input", { type: "checkbox", name: "auto_accept",
                                                  id: "offer-auto", checked: true }),
       " accept requests automatically"),
    el("div", { class: "actions" }, el("button", { type: "submit", id: "offer-submit" },
                                       "Publish offer")),
    status);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const o = await api("POST", "/market/v1/offers", formData(form));
      showOk(status, `Published: ${o.name}.`);
      load();
    } catch (err) {
      showError(status, err);
    }
  });
  return form;
}

function offerCard(o) {
  const card = el("div", { class: "item", dataset: { offer: o.id } },
    el("div", { class: "item-head" },
       el("a", { href: `/offers/${o.id}`, class: "offer-name" }, o.name),
       el("span", { class: `pill ${o.state}` }, o.state)),
    el("div", null, `${resources(o)} · ${o.slots_held} of ${o.slots} slots held · ${o.pricing} ` +
       `· reserve ${perHour(o.reserve_price, o.currency)} · price ${
         perHour(o.price, o.currency)} · ${o.bids} bids`),
    o.state === "active" ? el("div", { class: "actions" },
      el("button", { class: "danger", onclick: async () => {
        try { await api("DELETE", `/market/v1/offers/${o.id}`); load(); }
        catch (e) { showError(card, e); }
      } }, "Withdraw")) : null);
  return card;
}

function contractCard(c) {
  const card = el("div", { class: "item", dataset: { contract: c.id } },
    el("div", { class: "item-head" }, el("strong", null, c.offer.name), " for ",
       el("span", { class: "consumer" }, c.consumer.name)),
    stateMachine(c.state, c.notice_reason || c.end_reason),
    el("div", null, `${c.units} slot(s) · max ${perHour(c.max_price, c.currency)} · price ${
      c.price === null ? "–" : perHour(c.price, c.currency)} · earned ${
      money(c.cost_to_date, c.currency)}`));
  if (c.state === "requested")
    card.append(el("div", { class: "actions" },
      el("button", { class: "accept", onclick: () => decide(c, "accept", card) }, "Accept"),
      el("button", { class: "danger", onclick: () => decide(c, "reject", card) }, "Reject")));
  return card;
}

async function decide(c, what, card) {
  try { await api("POST", `/market/v1/contracts/${c.id}/${what}`); load(); }
  catch (e) { showError(card, e); }
}

// Loads overlap (every event asks for one): only the newest may render, or
// an older answer would put back what a newer one already replaced.
let loads = 0;

async function load() {
  const seq = ++loads;
  try {
    const [b, o, c] = await Promise.all([
      api("GET", "/market/v1/backends"),
      api("GET", "/market/v1/offers?mine=true&limit=1000&sort=newest"),
      api("GET", "/market/v1/contracts?role=provider&limit=200"),
    ]);
    if (seq !== loads) return;
    const newBackends = JSON.stringify(b.backends.map((x) => x.id)) !==
                        JSON.stringify(backends.map((x) => x.id));
    backends = b.backends;
    fillWith(document.getElementById("backend-list"),
      backends.length ? backends.map(backendCard)
                      : el("p", { class: "muted" }, "No backend yet."));
    const formBox = document.getElementById("offer-form-box");
    if (newBackends || !formBox.firstChild)
      clear(formBox).append(backends.length ? offerForm()
        : el("p", { class: "muted" }, "Register a backend first."));
    fillWith(document.getElementById("offer-list"),
      o.offers.length ? o.offers.map(offerCard) : el("p", { class: "muted" }, "No offer yet."));
    fillWith(document.getElementById("provider-contracts"),
      c.contracts.length ? c.contracts.map(contractCard)
                         : el("p", { class: "muted" }, "Nobody has asked yet."));
  } catch (e) {
    showError("provider-error", e);
  }
}

async function main() {
  if (!await loadMe()) {
    location.href = "/login?next=/provider";
    return;
  }
  header("provider");
  const main = clear(document.getElementById("main"));
  if (!NC.me.provider) {
    main.append(el("h1", null, "Provider"),
      el("p", { id: "not-provider" }, "To offer services, first give your provider data on ",
         el("a", { href: "/account" }, "your account"), "."));
    return;
  }
  main.append(el("h1", null, "Provider: ", NC.me.provider_profile.company),
    el("div", { id: "provider-error" }),
    el("div", { class: "grid two" }, await backendSection(),
       el("section", { class: "card", id: "offers-section" }, el("h2", null, "Offers"),
          el("div", { id: "offer-list" }), el("h3", null, "Publish an offer"),
          el("div", { id: "offer-form-box" }))),
    el("section", { class: "card wide" }, el("h2", null, "Contracts on my offers"),
       el("div", { id: "provider-contracts" })));
  await load();
  let pending = null;
  events("", (type) => {
    if (type !== "contract" && type !== "backend" && type !== "allocation" &&
        type !== "resync") return;
    clearTimeout(pending);
    pending = setTimeout(load, 300);
  });
}

main();
