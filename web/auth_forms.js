// Signing in, signing up and signing out (and the nav's reload): each sign-in or sign-out starts a
// new epoch, and sign-out forgets the token, the chosen wallet, pending intents and timers, so
// nothing of one session leaks into the next.
import { gql, session } from "./api.js";
import { $, submitButton } from "./dom.js";
import { Q } from "./queries.js";
import { say } from "./messages.js";
import { busy, intents, on } from "./actions.js";
import { nextEpoch, refresh, showSignedOut, timers } from "./session_view.js";
import { stopLiveUpdates } from "./live.js";
import { WALLET_KEY } from "./dashboard.js";

on("login-form", "submit", async (e) => {
  const form = e.currentTarget;
  await busy(submitButton(form), async () => {
    const email = $("login-email").value.trim();
    const password = $("login-password").value;
    const data = await gql(Q.login, { email, password });
    nextEpoch();
    stopLiveUpdates();
    session.token = data.loginUser.access_token;
    form.reset();
    say(`Selamat datang, ${data.loginUser.user.username}.`, "success");
    await refresh();
    $("main").focus();
  });
});

on("register-form", "submit", async (e) => {
  const form = e.currentTarget;
  await busy(submitButton(form), async () => {
    const values = Object.fromEntries(new FormData(form).entries());
    values.username = values.username.trim();
    values.email = values.email.trim();
    await gql(Q.register, values);
    $("login-email").value = values.email;
    form.reset();
    say("Pendaftaran berhasil. Silakan masuk.", "success");
    $("login-password").focus();
  });
});

on("reload", "click", async () => {
  await refresh();
  say("Data diperbarui.");
});

on("logout", "click", async () => {
  nextEpoch();
  stopLiveUpdates();
  for (const timer of timers) clearTimeout(timer);
  timers.clear();
  session.token = null;
  sessionStorage.removeItem(WALLET_KEY);
  intents.clear();
  $("receipt").hidden = true;
  showSignedOut();
  say("Anda sudah keluar.");
});
