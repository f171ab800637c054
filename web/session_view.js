// Who is signed in and which view shows: the dashboard or admin console appears only once its data
// is on screen, and the epoch counter drops any answer that arrives for an earlier session.
import { gql } from "./api.js";
import { $ } from "./dom.js";
import { Q } from "./queries.js";
import { startLiveUpdates } from "./live.js";
import { renderTransactions, renderWallets } from "./dashboard.js";
import { loadFraudPage, loadLedger, loadOutbox } from "./admin.js";

export let me = null;
export let wallets = [];

/** Shown only once the data is on screen, so nothing can be pressed against an empty page. */
function showSignedIn(customer) {
  $("auth-view").hidden = true;
  $("nav").hidden = false;
  $("who").textContent = `${me.username}${customer ? "" : " (admin)"}`;
  $("customer-view").hidden = !customer;
  $("admin-view").hidden = customer;
  if (customer) startLiveUpdates();
}

export function showSignedOut() {
  me = null;
  wallets = [];
  $("auth-view").hidden = false;
  $("customer-view").hidden = true;
  $("admin-view").hidden = true;
  $("nav").hidden = true;
  $("who").textContent = "";
}

// Bumped at every sign-in and sign-out: an answer that arrives for an earlier session is dropped.
export let epoch = 0;
export const timers = new Set();

/** A sign-in or sign-out: answers still on their way for the session before are dropped. */
export function nextEpoch() {
  epoch += 1;
}

export async function refresh() {
  const mine = epoch;
  const who = await gql(Q.whoami);
  if (mine !== epoch) return;
  if (who.me.role === "ADMIN") {
    me = who.me;
    await Promise.all([loadFraudPage(), loadOutbox(), loadLedger()]);
    if (mine !== epoch) return;
    showSignedIn(false);
    return;
  }
  const data = await gql(Q.dashboard);
  if (mine !== epoch) return;
  me = data.me;
  wallets = me.wallets || [];
  renderWallets();
  renderTransactions(me.transactions || []);
  showSignedIn(true);
}
