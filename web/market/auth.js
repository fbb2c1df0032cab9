// auth.js: the log-in and registration pages.
import { NC, api, clear, el, field, formData, header, loadMe, showError } from "./app.js";

function next() {
  const n = new URLSearchParams(location.search).get("next") || "/";
  return n.startsWith("/") && !n.startsWith("//") ? n : "/";
}

async function main() {
  await loadMe();
  header("");
  const register = document.body.dataset.page === "register";
  const main = clear(document.getElementById("main"));
  if (NC.me) {
    main.append(el("p", null, `You are logged in as ${NC.me.email}. `,
                   el("a", { href: "/" }, "Go to the catalogue"), "."));
    return;
  }
  const status = el("div", { id: "auth-status" });
  const form = el("form", { class: "narrow", id: register ? "register-form" : "login-form" },
    el("h1", null, register ? "Register" : "Log in"),
    register ? field("Your name", el("input", { name: "name", id: "name", required: true,
                                                 maxlength: 80, autocomplete: "name" })) : null,
    field("E-mail address", el("input", { name: "email", id: "email", type: "email",
                                          required: true, autocomplete: "email" })),
    field("Password", el("input", { name: "password", id: "password", type: "password",
                                    required: true, minlength: register ? 8 : null,
                                    autocomplete: register ? "new-password"
                                                           : "current-password" }),
          register ? "at least 8 characters" : null),
    el("div", { class: "actions" },
       el("button", { type: "submit", id: "submit" }, register ? "Register" : "Log in")),
    status,
    el("p", { class: "muted" }, register ? "Have an account? " : "New here? ",
       el("a", { href: register ? "/login" : "/register" }, register ? "Log in" : "Register")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api("POST", register ? "/market/v1/users" : "/market/v1/session", formData(form));
      location.href = next();
    } catch (err) {
      showError(status, err);
    }
  });
  main.append(form);
}

main();
