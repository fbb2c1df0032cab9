// offer.js: the service page: general information, provider, measured
// quality, a live price chart, the contract lifecycle and the bid form.
import { NC, PriceChart, api, clear, depthLabel, el, events, field, formData, header, loadMe,
         percent, perHour, resources, showError, showOk, stateMachine, when } from "./app.js";

function table(rows) {
  return el("table", { class: "kv" },
    el("tbody", null, rows.filter(Boolean).map(([k, v, id]) =>
      el("tr", null, el("th", null, k), el("td", { id: id || null }, v)))));
}

function general(o) {
  return el("section", { class: "card", id: "general" }, el("h2", null, "Service"),
    table([
      ["Kind", `${o.kind} · ${o.pricing} pricing`],
      ["Per slot", resources(o)],
      o.kind === "compute" ? ["Image", o.image || "–"] : null,
      ["Slots", `${o.slots_free} free of ${o.slots}`, "slots"],
      ["Reserve price", perHour(o.reserve_price, o.currency)],
      ["Requests", o.auto_accept ? "accepted at once (auto-accept)" : "decided by the provider"],
      ["Promised availability", `${o.availability_promise} %`],
      ["Open bids", String(o.bids), "bids"],
      ["Listed since", when(o.created_at)],
    ]));
}

function provider(p, o) {
  if (!p) return el("section", { class: "card" }, el("h2", null, "Provider"), "–");
  return el("section", { class: "card", id: "provider" }, el("h2", null, "Provider"),
    table([
      ["Company", p.company, "provider-company"],
      ["Address", el("span", { class: "pre" }, p.address)],
      ["Provider since", when(p.since)],
      ["Active offers", String(p.offers)],
      ["More", el("a", { href: `/?provider=${encodeURIComponent(p.id)}` }, "all its offers")],
    ]));
}

function quality(b) {
  if (!b) return el("section", { class: "card" }, el("h2", null, "Measured quality"), "–");
  const q = b.quality || {};
  return el("section", { class: "card", id: "quality" }, el("h2", null, "Measured quality"),
    table([
      ["Backend", `${b.name} (${b.state}${b.accel ? ", " + b.accel : ""})`, "backend-state"],
      ["Availability 24 h", percent(q.availability_24h), "availability"],
      ["Availability 7 d", percent(q.availability_7d)],
      ["Health probes 24 h", `${q.probes_24h ?? 0} (${q.failed_probes_24h ?? 0} failed)`],
      ["Probe latency", q.probe_latency_ms === null || q.probe_latency_ms === undefined
                        ? "–" : `${q.probe_latency_ms} ms`],
      ["VM launch (median)", q.launch_ms === null || q.launch_ms === undefined
        ? "not measured yet" : `${(q.launch_ms / 1000).toFixed(2)} s over ${q.launch_samples}`],
      ["Interruptions 30 d", String(q.interruptions_30d ?? 0)],
      ["Nesting depth", depthLabel(b), "depth"],
      b.upstream ? ["Upstream provider",
                    `${b.upstream.provider.company} (backend ${b.upstream.backend.name})`,
                    "upstream"] : null,
    ]));
}

function bidForm(o) {
  const box = el("section", { class: "card", id: "bid" }, el("h2", null, "Ask for a contract"));
  if (!NC.me) {
    box.append(el("p", null, el("a", { href: "/login" }, "Log in"), " or ",
                  el("a", { href: "/register" }, "register"), " to bid."));
    return box;
  }
  if (o.provider.id === NC.me.id) {
    box.append(el("p", null, "This is your offer. Manage it on the ",
                  el("a", { href: "/provider" }, "provider page"), "."));
    return box;
  }
  const status = el("div", { id: "bid-status" });
  const suggested = Math.max(Number(o.price), Number(o.reserve_price)) * 1.5 || 0.01;
  const form = el("form", { id: "bid-form" },
    o.pricing === "spot"
      ? field("Your maximum price per slot-hour (€)",
              el("input", { name: "max_price", id: "max-price", type: "text", required: true,
                            value: suggested.toFixed(4) }),
              "You pay the clearing price, never more than this.")
      : el("p", null, `Fixed price: ${perHour(o.price, o.currency)}`),
    field("Slots", el("input", { name: "units", id: "units", type: "number", min: 1,
                                 max: Math.min(o.slots, 16), value: 1 })),
    o.kind === "compute"
      ? el("label", { class: "check" }, el("input", { type: "checkbox", name: "start",
                                                      id: "start" }),
           " start the VM as soon as it is allocated") : null,
    el("div", { class: "actions" }, el("button", { type: "submit", id: "bid-submit" },
                                       o.pricing === "spot" ? "Place bid" : "Rent")),
    status);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = formData(form);
    const body = { offer: o.id, units: f.units || 1 };
    if (f.max_price !== undefined) body.max_price = f.max_price;
    if (o.kind === "compute") body.config = { start: !!f.start };
    try {
      const c = await api("POST", "/market/v1/contracts", body);
      showOk(status, `Contract ${c.id.slice(0, 8)} is ${c.state}. Follow it under My contracts.`);
      loadMine(o);
    } catch (err) {
      showError(status, err);
    }
  });
  box.append(el("p", { class: "muted" },
    o.pricing === "spot"
      ? "Spot: slots go to the highest bids at or above the reserve at each clearing; " +
        "everyone pays the same price. An outbid allocation gets a notice before it stops."
      : "Fixed: the first requests get the free slots at the fixed price; never outbid."),
    form);
  return box;
}

// Loads overlap (every contract event asks for one): only the newest may
// render, or an older answer would put back what a newer one replaced.
let loads = 0;

async function loadMine(o) {
  const box = document.getElementById("mine");
  if (!box || !NC.me) return;
  const seq = ++loads;
  try {
    const out = await api("GET", "/market/v1/contracts?state=open");
    if (seq !== loads) return;
    const mine = out.contracts.filter((c) => c.offer.id === o.id && c.role === "consumer");
    clear(box);
    if (!mine.length) return;
    box.append(el("h2", null, "Your contracts on this service"));
    for (const c of mine)
      box.append(el("div", { class: "contract-mini", dataset: { contract: c.id } },
        el("a", { href: "/contracts" }, `Contract ${c.id.slice(0, 8)}`),
        ` · max ${perHour(c.max_price, c.currency)} · price in force ${
          c.price === null ? "–" : perHour(c.price, c.currency)}`,
        stateMachine(c.state, c.notice_reason || c.end_reason)));
  } catch (e) {
    showError(box, e);
  }
}

async function main() {
  const raw = document.getElementById("page-data").textContent;
  let data;
  try { data = JSON.parse(raw); } catch (e) { data = null; }
  await loadMe();
  header("catalogue");
  const main = clear(document.getElementById("main"));
  if (!data || !data.offer) {
    main.append(el("p", { class: "error" }, "This service is not in the catalogue."));
    return;
  }
  const o = data.offer;
  document.title = `${o.name} · nestcloud market`;
  const priceNow = el("span", { class: "big", id: "price-now" }, perHour(o.price, o.currency));
  const cleared = el("span", { class: "muted", id: "cleared" },
                     o.cleared_at ? `cleared ${when(o.cleared_at)}` : "not cleared yet");
  const chartBox = el("div", { id: "chart" });
  main.append(
    el("div", { class: "title" }, el("h1", { id: "offer-name" }, o.name),
       el("span", { class: `badge ${o.kind}` }, o.kind),
       el("span", { class: "badge" }, o.pricing),
       o.backend && o.backend.depth ? el("span", { class: "badge nested" },
                                         `nested depth ${o.backend.depth}`) : null),
    el("p", { class: "description pre", id: "offer-description" }, o.description || ""),
    el("section", { class: "card wide", id: "prices" },
       el("h2", null, "Price history ", el("small", { class: "muted" }, "(live)")),
       el("div", { class: "now" }, priceNow, " ", cleared),
       chartBox,
       el("p", { class: "muted small" },
          `Cleared every ${data.market.clearing_interval_s} s at one uniform price. ` +
          `Outbid allocations get ${data.market.notice_s} s notice. ` +
          "History: GET /market/v1/offers/" + o.id + "/price-history")),
    el("div", { class: "grid" }, general(o), provider(data.provider, o), quality(o.backend)),
    el("section", { class: "card wide" }, el("h2", null, "Contract lifecycle"),
       stateMachine(null),
       el("p", { class: "muted small" },
          "requested → agreed (auto-accept or the provider's decision) → active (the market " +
          "creates the VM; billed per second) ⇄ notice (outbid) → ended")),
    bidForm(o),
    el("section", { class: "card wide", id: "mine" }));
  const chart = new PriceChart(chartBox, o.currency);
  chart.set(data.price_history || []);
  loadMine(o);
  events(`offer=${encodeURIComponent(o.id)}`, async (type, ev) => {
    if (type === "price" && ev.data.offer === o.id) {
      chart.add(ev.data);
      priceNow.textContent = perHour(ev.data.price, o.currency);
      cleared.textContent = `cleared ${when(ev.data.timestamp)}`;
      const slots = document.getElementById("slots");
      if (slots) slots.textContent = `${Math.max(o.slots - ev.data.filled, 0)} free of ${o.slots}`;
      const bids = document.getElementById("bids");
      if (bids) bids.textContent = String(ev.data.bids);
    } else if (type === "contract" || type === "resync") {
      loadMine(o);
    }
  });
}

main();
