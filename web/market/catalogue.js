// catalogue.js: the service registry: search, filters, live prices.
import { NC, api, clear, depthLabel, el, events, field, header, loadMe, percent, perHour,
         resources, showError } from "./app.js";

const FILTERS = [
  ["q", "Search", "text", "name, description or provider"],
  ["kind", "Kind", ["", "compute", "storage"]],
  ["pricing", "Pricing", ["", "spot", "fixed"]],
  ["min_vcpus", "Min vCPUs", "number"],
  ["min_memory_mib", "Min memory (MiB)", "number"],
  ["min_storage_gib", "Min storage (GiB)", "number"],
  ["max_price", "Max price (€/h)", "text"],
  ["min_availability", "Min availability (%)", "text"],
  ["max_depth", "Max nesting depth", "number"],
  ["sort", "Sort by", ["price", "availability", "launch", "newest"]],
];

function filterForm(onSearch) {
  const params = new URLSearchParams(location.search);
  const form = el("form", { class: "filters", id: "filters" });
  for (const [name, label, type, hint] of FILTERS) {
    let input;
    if (Array.isArray(type)) {
      input = el("select", { name, id: `f-${name}` },
        type.map((v) => el("option", { value: v, selected: params.get(name) === v },
                           v || "any")));
    } else {
      input = el("input", { name, id: `f-${name}`, type, placeholder: hint || "",
                            min: type === "number" ? 0 : null,
                            value: params.get(name) || "" });
    }
    form.append(field(label, input));
  }
  form.append(el("div", { class: "actions" },
    el("button", { type: "submit", id: "search" }, "Search")));
  form.addEventListener("submit", (e) => { e.preventDefault(); onSearch(form); });
  return form;
}

function row(o) {
  const q = o.backend ? o.backend.quality || {} : {};
  return el("tr", { dataset: { offer: o.id } },
    el("td", null, el("a", { href: `/offers/${o.id}`, class: "offer-name" }, o.name),
       el("div", { class: "muted small" }, o.kind, " · ", o.pricing)),
    el("td", null, o.provider.company || "–"),
    el("td", null, resources(o)),
    el("td", { class: "price" }, perHour(o.price, o.currency)),
    el("td", null, `${o.slots_free} of ${o.slots}`),
    el("td", null, percent(q.availability_24h)),
    el("td", null, q.launch_ms === null || q.launch_ms === undefined
                   ? "–" : `${(q.launch_ms / 1000).toFixed(1)} s`),
    el("td", null, String(q.interruptions_30d ?? "–")),
    el("td", null, depthLabel(o.backend)));
}

async function search(form, results) {
  const params = new URLSearchParams();
  if (form)
    for (const f of form.elements)
      if (f.name && f.value) params.set(f.name, f.value);
  history.replaceState(null, "", params.toString() ? `/?${params}` : "/");
  try {
    const out = await api("GET", `/market/v1/offers?${params}`);
    const table = el("table", { class: "offers", id: "offers" },
      el("thead", null, el("tr", null,
        ["Service", "Provider", "Resources", "Price", "Free slots", "Availability 24 h",
         "Launch", "Interruptions 30 d", "Nesting depth"].map((h) => el("th", null, h)))),
      el("tbody", null, out.offers.map(row)));
    clear(results).append(out.offers.length ? table
      : el("p", { class: "muted", id: "no-offers" }, "No offer matches. Loosen the filters."));
  } catch (e) {
    showError(results, e);
  }
}

async function main() {
  await loadMe();
  header("catalogue");
  const main = clear(document.getElementById("main"));
  const results = el("div", { id: "results" });
  main.append(
    el("section", { class: "intro" },
      el("h1", null, "Compute and storage, on a spot market"),
      el("p", null, "Every service runs on a nestcloud backend whose availability, launch time ",
         "and interruptions the market measures itself. Some are slices resold from another ",
         "customer's allocation: their nesting depth and upstream provider are shown."),
      NC.me ? null : el("p", null, el("a", { href: "/register" }, "Register"),
                        " to bid, or to offer your own cloud.")),
    filterForm((form) => search(form, results)),
    results);
  await search(document.getElementById("filters"), results);
  events("", (type, ev) => {
    if (type === "resync") {
      search(document.getElementById("filters"), results);
      return;
    }
    if (type !== "price") return;
    const tr = document.querySelector(`tr[data-offer="${CSS.escape(ev.data.offer)}"]`);
    if (!tr) return;
    const cell = tr.querySelector(".price");
    const text = perHour(ev.data.price, "EUR");
    if (cell.textContent !== text) {
      cell.textContent = text;
      cell.classList.remove("flash");
      void cell.offsetWidth;
      cell.classList.add("flash");
    }
  });
}

main();
