// account.js: the account: profile, becoming a provider, API tokens,
// statements.
import { NC, api, clear, el, field, formData, header, loadMe, money, showError, showOk,
         when } from "./app.js";

function kv(rows) {
  return el("table", { class: "kv" }, el("tbody", null,
    rows.map(([k, v, id]) => el("tr", null, el("th", null, k), el("td", { id }, v)))));
}

function profile() {
  const u = NC.me;
  const rows = [["Name", u.name, "me-name"], ["E-mail", u.email, "me-email"],
                ["Member since", when(u.created_at)],
                ["Roles", u.provider ? "consumer, provider" : "consumer", "me-roles"]];
  const p = u.provider_profile;
  if (p)
    rows.push(["Company", p.company, "me-company"], ["Tax number", p.tax_number],
              ["Bank account", p.iban, "me-iban"],
              ["Address", el("span", { class: "pre" }, p.address)],
              ["Provider since", when(p.since)]);
  return el("section", { class: "card", id: "profile" }, el("h2", null, "Profile"), kv(rows));
}

function providerForm() {
  const p = NC.me.provider_profile;
  const status = el("div", { id: "provider-status" });
  const form = el("form", { id: "provider-form" },
    field("Company name", el("input", { name: "company", id: "company", required: !p,
                                        maxlength: 200, value: p ? p.company : "" })),
    field("Tax number", el("input", { name: "tax_number", id: "tax-number", required: !p,
                                      maxlength: 32, value: p ? p.tax_number : "" })),
    field("Bank account (IBAN)", el("input", { name: "iban", id: "iban", required: !p,
                                               placeholder: p ? "unchanged" : "DE89 3704 …" }),
          "checked with the IBAN mod-97 check digits"),
    field("Postal address", el("textarea", { name: "address", id: "address", required: !p,
                                             rows: 3, maxlength: 500 }, p ? p.address : "")),
    el("div", { class: "actions" }, el("button", { type: "submit", id: "provider-submit" },
                                       p ? "Update provider data" : "Become a provider")),
    status);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const out = await api("POST", "/market/v1/me/provider", formData(form));
      NC.me = out.user;
      showOk(status, "You are a provider. Register a backend on the provider page.");
      render();
    } catch (err) {
      showError(status, err);
    }
  });
  return el("section", { class: "card", id: "become-provider" },
    el("h2", null, p ? "Provider data" : "Become a provider"),
    p ? null : el("p", null, "Every user is a consumer. To offer services, give the data ",
                  "every provider must give."),
    form);
}

async function tokens() {
  const box = el("section", { class: "card", id: "tokens" }, el("h2", null, "API tokens"),
    el("p", { class: "muted" }, "For scripts: send 'Authorization: Bearer TOKEN' to ",
       "/market/v1. A token is shown once."));
  const list = el("ul", { id: "token-list" });
  const status = el("div", { id: "token-status" });
  const refresh = async () => {
    const out = await api("GET", "/market/v1/tokens");
    clear(list).append(...out.tokens.map((t) => el("li", null, t.name, " · ",
      el("span", { class: "muted" }, `made ${when(t.created_at)}, used ${when(t.last_used_at)}`),
      " ", el("button", { class: "link", onclick: async () => {
        await api("DELETE", `/market/v1/tokens/${t.id}`);
        refresh();
      } }, "delete"))));
  };
  const form = el("form", { id: "token-form", class: "inline" },
    el("input", { name: "name", id: "token-name", placeholder: "token name", required: true,
                  maxlength: 80 }),
    el("button", { type: "submit" }, "Make a token"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const t = await api("POST", "/market/v1/tokens", formData(form));
      clear(status).append(el("div", { class: "ok" }, "Copy it now, it is not shown again: ",
                              el("code", { id: "new-token" }, t.token)));
      refresh();
    } catch (err) {
      showError(status, err);
    }
  });
  box.append(form, status, list);
  try { await refresh(); } catch (e) { showError(status, e); }
  return box;
}

async function statement(role) {
  const box = el("section", { class: "card wide", id: `statement-${role}` },
    el("h2", null, role === "consumer" ? "Charges (as a consumer)" : "Income (as a provider)"));
  try {
    const s = await api("GET", `/market/v1/statements?role=${role}`);
    box.append(el("table", { class: "offers" },
      el("thead", null, el("tr", null, ["Contract", "Service",
        role === "consumer" ? "Provider" : "Consumer", "Seconds", "Amount",
        "Measured availability", "Credit"].map((h) => el("th", null, h)))),
      el("tbody", null, s.lines.map((l) => el("tr", null,
        el("td", null, l.contract.slice(0, 8)), el("td", null, l.offer_name),
        el("td", null, l.provider ?? l.consumer ?? "–"), el("td", null, String(l.seconds)),
        el("td", null, money(l.amount, s.currency)),
        el("td", null, l.measured_availability === null ? "–"
                       : `${l.measured_availability.toFixed(2)} % (promised ${
                            l.availability_promise} %)`),
        el("td", null, money(l.credit, s.currency)))))),
      el("p", { class: "total" }, `Total ${money(s.total, s.currency)}, credits ${
        money(s.credits, s.currency)}, net ${money(s.net, s.currency)}`));
  } catch (e) {
    showError(box, e);
  }
  return box;
}

async function render() {
  header("account");
  const main = clear(document.getElementById("main"));
  main.append(el("h1", null, "Account"),
    el("div", { class: "grid" }, profile(), providerForm(), await tokens()),
    await statement("consumer"));
  if (NC.me.provider) main.append(await statement("provider"));
}

async function main() {
  if (!await loadMe()) {
    location.href = "/login?next=/account";
    return;
  }
  render();
}

main();
