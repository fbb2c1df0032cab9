// contracts.js: the consumer's contracts and allocations: the state
// machine, the price in force, and the VM's controls (start, stop, reboot,
// rescale, console) through the market.
import { NC, api, clear, fillWith, el, events, header, loadMe, mib, money, perHour, showError,
         stateMachine, when } from "./app.js";

let showEnded = false;

function allocationPanel(c, card) {
  const a = c.allocation;
  if (!a || a === null)
    return el("div", { class: "alloc muted" },
              c.state === "agreed" ? "Waiting to win a slot at the next clearing."
                                   : "No allocation.");
  const status = el("div", { class: "alloc-status" });
  const act = (action) => async () => {
    try {
      await api("POST", `/market/v1/allocations/${a.id}/actions`, { action },
                { idempotent: true });
      clear(status).append(el("span", { class: "muted" }, `${action} sent to the backend…`));
    } catch (e) {
      showError(status, e);
    }
  };
  const live = a.desired === "present" && a.kind === "compute" && a.state !== "failed" &&
               a.state !== "lost";
  const panel = el("div", { class: "alloc", dataset: { allocation: a.id } },
    el("div", null, el("strong", null, a.kind === "compute" ? "VM " : "Volume "),
       el("code", null, a.name), " on ", a.backend.name, " · ",
       el("span", { class: `pill ${a.state}`, dataset: { role: "alloc-state" } }, a.state),
       a.operation ? el("span", { class: "muted" }, ` (${a.operation.kind} in progress)`) : null),
    el("div", { class: "muted small" },
       a.kind === "compute" ? `${a.vcpus} vCPU, ${mib(a.memory_mib)}, ${a.units} slot(s)`
                            : `${a.storage_gib} GiB`,
       a.address ? ` · address ${a.address}` : ""),
    a.note ? el("div", { class: "note" }, a.note) : null,
    a.error ? el("div", { class: "error small" }, a.error) : null);
  if (live) {
    const units = el("input", { type: "number", min: 1, max: 16, value: a.units,
                                class: "units", "aria-label": "slots" });
    panel.append(el("div", { class: "actions" },
      el("button", { class: "start", onclick: act("start") }, "Start"),
      el("button", { class: "stop", onclick: act("stop") }, "Stop"),
      el("button", { class: "secondary reboot", onclick: act("reboot") }, "Reboot"),
      el("button", { class: "secondary force-stop", onclick: act("force-stop") }, "Force stop"),
      el("span", { class: "rescale" }, units,
         el("button", { class: "secondary rescale-btn", onclick: async () => {
           try {
             await api("PATCH", `/market/v1/allocations/${a.id}`, { units: Number(units.value) });
             clear(status).append(el("span", { class: "muted" },
                                     "rescaled; metered at the new size from now"));
           } catch (e) {
             showError(status, e);
           }
         } }, "Rescale")),
      el("button", { class: "secondary console-btn", onclick: async () => {
        try {
          const out = await api("GET", `/market/v1/allocations/${a.id}/console`);
          const pre = card.querySelector("pre.console") || el("pre", { class: "console" });
          pre.textContent = out.console.slice(-4000);
          panel.append(pre);
        } catch (e) {
          showError(status, e);
        }
      } }, "Console")));
  }
  panel.append(status);
  return panel;
}

function contractCard(c) {
  const card = el("article", { class: "item contract", dataset: { contract: c.id,
                                                                 state: c.state } });
  const status = el("div", { class: "contract-status" });
  const spot = c.offer.pricing === "spot";
  let countdown = null;
  if (c.state === "notice" && c.notice_until) {
    countdown = el("span", { class: "notice" });
    const tick = () => {
      const left = Math.max(0, Math.round((Date.parse(c.notice_until) - Date.now()) / 1000));
      countdown.textContent = `Notice: stops in ${left} s (${c.notice_reason})`;
      if (left > 0 && document.body.contains(countdown)) setTimeout(tick, 1000);
    };
    tick();
  }
  card.append(
    el("div", { class: "item-head" }, el("a", { href: `/offers/${c.offer.id}` }, c.offer.name),
       el("span", { class: "muted" }, ` · ${c.offer.kind} · ${c.offer.pricing} · from ${
         c.provider.company || "–"}`)),
    stateMachine(c.state, c.state === "ended" ? c.end_reason : c.notice_reason),
    countdown || "",
    el("div", { class: "terms" },
       `${c.units} slot(s) · your max ${perHour(c.max_price, c.currency)} · price in force ${
         c.price === null ? "–" : perHour(c.price, c.currency)} · cost so far `,
       el("span", { class: "cost" }, money(c.cost_to_date, c.currency)),
       ` · since ${when(c.activated_at || c.created_at)}`),
    allocationPanel(c, card));
  if (c.state !== "ended") {
    const bid = spot ? el("input", { type: "text", class: "new-bid", value: c.max_price,
                                     "aria-label": "new maximum price" }) : null;
    card.append(el("div", { class: "actions" },
      bid, bid ? el("button", { class: "secondary", onclick: async () => {
        try {
          await api("PATCH", `/market/v1/contracts/${c.id}`, { max_price: bid.value });
          load();
        } catch (e) {
          showError(status, e);
        }
      } }, "Change bid") : null,
      el("button", { class: "danger end", onclick: async () => {
        if (!confirm("End this contract? Its allocation is deleted.")) return;
        try { await api("POST", `/market/v1/contracts/${c.id}/end`); load(); }
        catch (e) { showError(status, e); }
      } }, c.state === "active" || c.state === "notice" ? "End contract" : "Cancel")));
  }
  card.append(status);
  return card;
}

// Loads overlap (every event asks for one): only the newest may render, or
// an older answer would put back what a newer one already replaced.
let loads = 0;

async function load() {
  const seq = ++loads;
  const list = document.getElementById("contract-list");
  try {
    const out = await api("GET", `/market/v1/contracts?role=consumer&limit=200${
      showEnded ? "" : "&state=open"}`);
    if (seq !== loads) return;
    fillWith(list, out.contracts.length ? out.contracts.map(contractCard)
      : el("p", { class: "muted", id: "no-contracts" }, "No contracts. Find a service in the ",
           el("a", { href: "/" }, "catalogue"), "."));
  } catch (e) {
    showError(list, e);
  }
}

async function main() {
  if (!await loadMe()) {
    location.href = "/login?next=/contracts";
    return;
  }
  header("contracts");
  const main = clear(document.getElementById("main"));
  const toggle = el("label", { class: "check" },
    el("input", { type: "checkbox", id: "show-ended", onchange: (e) => {
      showEnded = e.target.checked;
      load();
    } }), " show ended contracts");
  main.append(el("h1", null, "My contracts"), toggle, el("div", { id: "contract-list" }));
  await load();
  let pending = null;
  events("", (type) => {
    if (type !== "contract" && type !== "allocation" && type !== "resync") return;
    clearTimeout(pending);
    pending = setTimeout(load, 200);
  });
}

main();
