// The wallet web app: a customer dashboard and an admin console over the one federated /graphql.
//
// Money actions follow three rules: one idempotency key per user intent (kept while the same intent
// is retried after a network failure, new once it has an answer), a busy button while it runs (a
// double click sends one request), and the chosen wallet stays chosen until the user changes it.
import { ApiError, gql, newKey, session } from "./api.js";
import { errorWords, fieldWords, isAmount, rupiah, statusWord, toAmount, typeWord, when } from "./format.js";

const $ = (id) => document.getElementById(id);
const WALLET_KEY = "sawit.wallet";
const FRAUD_PAGE = 10;

const Q = {
  login: `mutation Login($email: String!, $password: String!) {
    loginUser(email: $email, password: $password) { access_token user { id username role } } }`,
  register: `mutation Register($username: String!, $fullname: String!, $email: String!, $password: String!) {
    registerUser(username: $username, fullname: $fullname, email: $email, password: $password) }`,
  dashboard: `query Dashboard {
    me {
      id username fullname role
      wallets { walletId walletName balance status }
      transactions(first: 30) {
        transactionId walletId amount type status vaNumber createdAt direction counterparty
        failureReason { code }
      }
    } }`,
  whoami: `query Who { me { id username role } }`,
  createWallet: `mutation CreateWallet($name: String!) { createWallet(walletName: $name) { walletId walletName } }`,
  createTx: `mutation Pay($input: CreateTransactionInput!) {
    createTransaction(input: $input) {
      transactionId walletId status amount type vaNumber counterparty createdAt failureReason { code } } }`,
  invoice: `query Invoice($va: String!) { invoice(vaNumber: $va) { vaNumber amount description status expiresAt } }`,
  recipient: `query Recipient($u: String!) { recipient(username: $u) { username displayName walletId } }`,
  fraudLogs: `query FraudLogs($status: String, $first: Int, $after: String) {
    getFraudLogs(status: $status, first: $first, after: $after) {
      logId transactionId amount type status reasons createdAt
      user { id username } wallet { walletId walletName status } } }`,
  freeze: `mutation Freeze($id: ID!) { freezeWallet(walletId: $id) { walletId status } }`,
  unfreeze: `mutation Unfreeze($id: ID!) { unfreezeWallet(walletId: $id) { walletId status } }`,
  transaction: `query Tx($id: ID!) { transaction(transactionId: $id) { transactionId type amount status } }`,
  reverse: `mutation Reverse($id: ID!, $reason: String) {
    reverseTransaction(transactionId: $id, reason: $reason) { transactionId status } }`,
  outbox: `query Outbox {
    pending: outboxMessages(state: "PENDING", first: 100) { id }
    overdue: outboxMessages(overdue: true, first: 100) { id }
    dead: outboxMessages(state: "DEAD", first: 20) { id kind transactionId attempts lastError createdAt } }`,
  audit: `query Audit { verifyAuditTrail { ok checked firstBrokenId } }`,
  ledger: `query Ledger { trialBalance(kinds: [SETTLEMENT]) {
    balanced debitTotal creditTotal balanceTotal accounts { accountId balance } } }`,
  settle: `mutation Settle($key: String!) {
    settleMerchant(merchantId: "marketplace", idempotencyKey: $key) { batchId total paymentCount } }`,
};

// ---- messages and field errors -----------------------------------------------------------------

function say(text, kind = "info") {
  const box = $("message");
  box.textContent = text;
  box.dataset.kind = kind;
  box.hidden = false;
}

function clearMessage() {
  $("message").hidden = true;
  $("message").textContent = "";
}

/** Every field error on the page goes when a new action starts: none is left from an earlier one. */
function clearFieldErrors() {
  for (const input of document.querySelectorAll("[data-field]")) {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
    const box = $(`${input.id}-error`);
    if (box) box.textContent = "";
  }
}

/** Put a message under the input the error is about; false when the form has no such input. */
function showFieldError(form, field, text) {
  const input = form?.querySelector(`[data-field="${field}"]`);
  const box = input && $(`${input.id}-error`);
  if (!box) return false;
  box.textContent = text;
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", box.id);
  input.focus();
  return true;
}

function fail(error, form = null) {
  if (error instanceof ApiError) {
    if (error.field && showFieldError(form, error.field, fieldWords(error.code, error.field))) {
      say(errorWords(error.code === "BAD_USER_INPUT" ? "BAD_USER_INPUT" : error.code), "error");
      return;
    }
    say(error.message, "error");
    return;
  }
  say(errorWords("INTERNAL"), "error");
}

document.addEventListener("input", (e) => {
  const input = e.target;
  if (!(input instanceof HTMLElement) || !input.dataset.field) return;
  input.removeAttribute("aria-invalid");
  const box = $(`${input.id}-error`);
  if (box) box.textContent = "";
});

// ---- busy buttons and intents ------------------------------------------------------------------

/** Run `work` with `button` disabled and marked busy; a second press while it runs does nothing. */
async function busy(button, work) {
  if (!button || button.dataset.busy === "1") return undefined;
  const label = button.textContent;
  button.dataset.busy = "1";
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.textContent = "Memproses…";
  try {
    return await work();
  } finally {
    button.dataset.busy = "";
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.textContent = label;
  }
}

const intents = new Map();

/** The idempotency key of this intent: the same while the same values are retried. */
function intentKey(name, values) {
  const signature = JSON.stringify(values);
  const known = intents.get(name);
  if (known && known.signature === signature) return known.key;
  const key = newKey();
  intents.set(name, { signature, key });
  return key;
}

function settle(name) {
  intents.delete(name);
}

function on(id, event, handler) {
  $(id).addEventListener(event, async (e) => {
    e.preventDefault();
    const form = e.currentTarget.tagName === "FORM" ? e.currentTarget : e.currentTarget.closest("form");
    clearMessage();
    clearFieldErrors();
    try { await handler(e); } catch (error) { fail(error, form); }
  });
}

function submitButton(form) {
  return form.querySelector('button[type="submit"]');
}

// ---- state ---------------------------------------------------------------------------------------

let me = null;
let wallets = [];

function selectedWalletId() {
  return $("active-wallet").value || sessionStorage.getItem(WALLET_KEY) || "";
}

function walletName(walletId) {
  return wallets.find((w) => w.walletId === walletId)?.walletName || "dompet lain";
}

function showSignedOut() {
  me = null;
  wallets = [];
  $("auth-view").hidden = false;
  $("customer-view").hidden = true;
  $("admin-view").hidden = true;
  $("nav").hidden = true;
  $("who").textContent = "";
}

// Bumped at every sign-in and sign-out: an answer that arrives for an earlier session is dropped.
let epoch = 0;
const timers = new Set();

async function refresh() {
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

// ---- live updates: the router's walletEvents subscription over SSE --------------------------------

const LIVE_QUERY = "subscription Live { walletEvents { walletId balance } }";
let live = null;

/** Follow the signed-in customer's wallet events (fetch + SSE, so the token goes in a header);
 *  each event refreshes the dashboard. Reconnects after a pause while the session lasts. */
function startLiveUpdates() {
  if (live || !session.token) return;
  const controller = new AbortController();
  const mine = epoch;
  live = controller;
  (async () => {
    while (!controller.signal.aborted && mine === epoch) {
      try {
        const response = await fetch("/graphql", {
          method: "POST",
          signal: controller.signal,
          headers: {
            "content-type": "application/json",
            accept: "text/event-stream",
            authorization: `Bearer ${session.token}`,
          },
          body: JSON.stringify({ query: LIVE_QUERY }),
        });
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        document.body.dataset.live = "on";
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            if (/^event: next/m.test(block) && mine === epoch) refresh().catch(() => {});
          }
        }
      } catch {
        if (controller.signal.aborted) return;
      }
      document.body.dataset.live = "off";
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  })();
}

function stopLiveUpdates() {
  if (live) live.abort();
  live = null;
  document.body.dataset.live = "off";
}

/** Shown only once the data is on screen, so nothing can be pressed against an empty page. */
function showSignedIn(customer) {
  $("auth-view").hidden = true;
  $("nav").hidden = false;
  $("who").textContent = `${me.username}${customer ? "" : " (admin)"}`;
  $("customer-view").hidden = !customer;
  $("admin-view").hidden = customer;
  if (customer) startLiveUpdates();
}

function li(className, ...children) {
  const item = document.createElement("li");
  if (className) item.className = className;
  item.append(...children);
  return item;
}

function span(className, text) {
  const element = document.createElement("span");
  if (className) element.className = className;
  element.textContent = text;
  return element;
}

function renderWallets() {
  const total = wallets.reduce((sum, w) => sum + Math.round(Number(w.balance) * 100), 0);
  $("total-balance").textContent = rupiah((total / 100).toFixed(2));
  const list = $("wallet-list");
  list.replaceChildren();
  if (!wallets.length) list.append(li("empty", "Belum ada dompet. Buat satu di bawah ini."));
  for (const wallet of wallets) {
    const row = document.createElement("div");
    row.className = "row";
    row.append(span("name", wallet.walletName), span("balance", rupiah(wallet.balance)));
    const meta = span("meta", wallet.status === "ACTIVE" ? "" : statusWord(wallet.status));
    const item = li("wallet", row, meta);
    item.dataset.walletId = wallet.walletId;
    list.append(item);
  }
  const select = $("active-wallet");
  const chosen = selectedWalletId();
  select.replaceChildren();
  for (const wallet of wallets.filter((w) => w.status === "ACTIVE")) {
    const option = document.createElement("option");
    option.value = wallet.walletId;
    option.textContent = `${wallet.walletName} — ${rupiah(wallet.balance)}`;
    select.append(option);
  }
  if (chosen && [...select.options].some((o) => o.value === chosen)) select.value = chosen;
  if (select.value) sessionStorage.setItem(WALLET_KEY, select.value);
}

function describe(tx) {
  if (tx.type === "TRANSFER") {
    const who = tx.counterparty || "pengguna lain";
    return tx.direction === "IN" ? `Transfer dari ${who}` : `Transfer ke ${who}`;
  }
  if (tx.type === "PAYMENT") return tx.vaNumber ? `Pembayaran VA ${tx.vaNumber}` : "Pembayaran VA";
  return typeWord(tx.type);
}

function signedAmount(tx) {
  const incoming = tx.type === "DEPOSIT" || tx.direction === "IN";
  const reversed = tx.status === "REVERSED";
  return { text: `${incoming ? "+" : "−"}${rupiah(tx.amount)}`, incoming: incoming && !reversed };
}

function renderTransactions(rows) {
  rows.sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  const list = $("tx-list");
  list.replaceChildren();
  if (!rows.length) list.append(li("empty", "Belum ada transaksi. Isi saldo untuk memulai."));
  for (const tx of rows) {
    const amount = signedAmount(tx);
    const top = document.createElement("div");
    top.className = "row";
    top.append(span("what", describe(tx)), span(`amount${amount.incoming ? " in" : ""}`, amount.text));
    const reason = tx.failureReason && tx.status !== "SUCCESS" ? ` · ${errorWords(tx.failureReason.code)}` : "";
    const meta = span("meta", `${walletName(tx.walletId)} · ${statusWord(tx.status)} · ${when(tx.createdAt)}${reason}`);
    const item = li("", top, meta);
    item.dataset.status = tx.status;
    item.dataset.direction = tx.direction;
    item.dataset.transactionId = tx.transactionId;
    list.append(item);
  }
}

function showReceipt(tx, target) {
  $("receipt-status").textContent = statusWord(tx.status)
    + (tx.failureReason && tx.status !== "SUCCESS" ? ` — ${errorWords(tx.failureReason.code)}` : "");
  $("receipt-type").textContent = typeWord(tx.type);
  $("receipt-amount").textContent = rupiah(tx.amount);
  $("receipt-wallet").textContent = walletName(tx.walletId);
  $("receipt-target").textContent = target || "-";
  $("receipt-time").textContent = when(tx.createdAt);
  $("receipt-id").textContent = tx.transactionId;
  $("receipt").hidden = false;
}

/** One money intent: a key for it, the request, the receipt; the key survives only a retryable failure. */
async function moneyAction(intent, input, target) {
  const key = intentKey(intent, input);
  let tx;
  try {
    const data = await gql(Q.createTx, { input: { ...input, idempotencyKey: key } });
    tx = data.createTransaction;
  } catch (error) {
    if (!(error instanceof ApiError && error.retryable)) settle(intent);
    throw error;
  }
  settle(intent);
  if (tx.status === "SUCCESS") say(`Transaksi berhasil: ${rupiah(tx.amount)}.`, "success");
  else if (tx.status === "PENDING") say("Transaksi sedang diproses. Statusnya akan diperbarui.", "info");
  else say(`Transaksi ${statusWord(tx.status).toLowerCase()}: ${errorWords(tx.failureReason?.code)}`, "error");
  await refresh();
  showReceipt(tx, target);
  // History and notices are written by the transactions outbox just after the answer; look again.
  for (const delayMs of [1500, 4000]) {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (me && me.role !== "ADMIN") refresh().catch(() => {});
    }, delayMs);
    timers.add(timer);
  }
  return tx;
}

/** Empty an input after its action, unless the user already typed the next value meanwhile. */
function clearIfUnchanged(id, typed) {
  if ($(id).value === typed) $(id).value = "";
}

function requireWallet(form) {
  const walletId = selectedWalletId();
  if (!walletId) {
    say("Buat atau pilih dompet dulu.", "error");
    $("wallet-name").focus();
    return null;
  }
  return walletId;
}

function readAmount(form, inputId) {
  const amount = toAmount($(inputId).value);
  if (!isAmount(amount)) {
    showFieldError(form, "amount", fieldWords("BAD_USER_INPUT", "amount"));
    say(errorWords("BAD_USER_INPUT"), "error");
    return null;
  }
  return amount;
}

// ---- customer actions ----------------------------------------------------------------------------

on("login-form", "submit", async (e) => {
  const form = e.currentTarget;
  await busy(submitButton(form), async () => {
    const email = $("login-email").value.trim();
    const password = $("login-password").value;
    const data = await gql(Q.login, { email, password });
    epoch += 1;
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
  epoch += 1;
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

$("active-wallet").addEventListener("change", () => {
  sessionStorage.setItem(WALLET_KEY, $("active-wallet").value);
});

on("wallet-form", "submit", async (e) => {
  const form = e.currentTarget;
  await busy(submitButton(form), async () => {
    const name = $("wallet-name").value.trim();
    if (!name) { showFieldError(form, "walletName", fieldWords("BAD_USER_INPUT", "walletName")); return; }
    const data = await gql(Q.createWallet, { name });
    if (!selectedWalletId()) sessionStorage.setItem(WALLET_KEY, data.createWallet.walletId);
    $("wallet-name").value = "";
    say(`Dompet "${name}" dibuat.`, "success");
    await refresh();
  });
});

on("deposit-form", "submit", async (e) => {
  const form = e.currentTarget;
  await busy(submitButton(form), async () => {
    const walletId = requireWallet(form);
    const typed = $("deposit-amount").value;
    const amount = walletId && readAmount(form, "deposit-amount");
    if (!amount) return;
    await moneyAction("deposit", { walletId, amount, type: "DEPOSIT" }, walletName(walletId));
    clearIfUnchanged("deposit-amount", typed);
  });
});

let pendingTransfer = null;

on("transfer-form", "submit", async (e) => {
  const form = e.currentTarget;
  await busy(submitButton(form), async () => {
    const walletId = requireWallet(form);
    const amount = walletId && readAmount(form, "transfer-amount");
    const username = $("transfer-to").value.trim();
    if (!amount) return;
    if (!username) { showFieldError(form, "toUsername", fieldWords("BAD_USER_INPUT", "toUsername")); return; }
    let found;
    try {
      found = (await gql(Q.recipient, { u: username })).recipient;
    } catch (error) {
      if (error instanceof ApiError && error.code === "NOT_FOUND") error.field = "toUsername";
      throw error;
    }
    pendingTransfer = { walletId, amount, toUsername: found.username, displayName: found.displayName };
    $("transfer-confirm-name").textContent = found.displayName;
    $("transfer-confirm-username").textContent = found.username;
    $("transfer-confirm-amount").textContent = rupiah(amount);
    $("transfer-confirm").hidden = false;
    $("transfer-confirm").focus();
  });
});

on("transfer-send", "click", async () => {
  if (!pendingTransfer) return;
  await busy($("transfer-send"), async () => {
    const { walletId, amount, toUsername, displayName } = pendingTransfer;
    const typed = [$("transfer-to").value, $("transfer-amount").value];
    await moneyAction("transfer", { walletId, amount, toUsername, type: "TRANSFER" }, `${displayName} (${toUsername})`);
    pendingTransfer = null;
    $("transfer-confirm").hidden = true;
    clearIfUnchanged("transfer-to", typed[0]);
    clearIfUnchanged("transfer-amount", typed[1]);
  });
});

on("transfer-cancel", "click", async () => {
  pendingTransfer = null;
  $("transfer-confirm").hidden = true;
  $("transfer-to").focus();
});

let pendingInvoice = null;

on("va-form", "submit", async (e) => {
  const form = e.currentTarget;
  await busy(submitButton(form), async () => {
    const walletId = requireWallet(form);
    const va = $("va-number").value.trim();
    if (!walletId) return;
    if (!va) { showFieldError(form, "vaNumber", fieldWords("BAD_USER_INPUT", "vaNumber")); return; }
    const data = await gql(Q.invoice, { va });
    if (!data.invoice) throw new ApiError("VA_NOT_FOUND", "vaNumber");
    pendingInvoice = { ...data.invoice, walletId };
    $("va-confirm-number").textContent = data.invoice.vaNumber;
    $("va-confirm-description").textContent = data.invoice.description || "-";
    $("va-confirm-amount").textContent = rupiah(data.invoice.amount);
    $("va-confirm-status").textContent = statusWord(data.invoice.status);
    $("va-pay").disabled = data.invoice.status !== "UNPAID";
    $("va-confirm").hidden = false;
    $("va-confirm").focus();
  });
});

on("va-pay", "click", async () => {
  if (!pendingInvoice) return;
  await busy($("va-pay"), async () => {
    const { walletId, vaNumber, amount, description } = pendingInvoice;
    const typed = $("va-number").value;
    await moneyAction("payment", { walletId, vaNumber, amount, type: "PAYMENT" }, description || vaNumber);
    pendingInvoice = null;
    $("va-confirm").hidden = true;
    clearIfUnchanged("va-number", typed);
  });
});

on("va-cancel", "click", async () => {
  pendingInvoice = null;
  $("va-confirm").hidden = true;
  $("va-number").focus();
});

on("receipt-close", "click", async () => {
  $("receipt").hidden = true;
});

// ---- admin ---------------------------------------------------------------------------------------

const fraudPaging = { cursors: [null], index: 0 };

async function loadFraudPage() {
  const status = $("fraud-status").value || null;
  const after = fraudPaging.cursors[fraudPaging.index];
  const data = await gql(Q.fraudLogs, { status, first: FRAUD_PAGE + 1, after });
  const logs = data.getFraudLogs.slice(0, FRAUD_PAGE);
  const more = data.getFraudLogs.length > FRAUD_PAGE;
  const list = $("fraud-list");
  list.replaceChildren();
  if (!logs.length) list.append(li("empty", "Tidak ada log untuk filter ini."));
  for (const log of logs) list.append(fraudItem(log));
  fraudPaging.cursors[fraudPaging.index + 1] = more ? logs[logs.length - 1].logId : undefined;
  $("fraud-next").disabled = !more;
  $("fraud-prev").disabled = fraudPaging.index === 0;
  $("fraud-page").textContent = `Halaman ${fraudPaging.index + 1}`;
}

function fraudItem(log) {
  const top = document.createElement("div");
  top.className = "row";
  const verdict = span(`badge ${log.status}`, log.status);
  top.append(span("who", log.user?.username || log.user?.id || "-"), span("amount", rupiah(log.amount)));
  const wallet = log.wallet;
  const walletText = wallet ? `${wallet.walletName || wallet.walletId} (${wallet.status || "?"})` : "tanpa dompet";
  const meta = span("meta", `${typeWord(log.type)} · ${walletText} · ${when(log.createdAt)}`);
  const rules = span("meta", log.reasons.length ? `Aturan: ${log.reasons.join(", ")}` : "Aturan: -");
  const actions = document.createElement("div");
  actions.className = "actions";
  if (wallet && wallet.status === "ACTIVE") actions.append(actionButton("Bekukan dompet", () => setFrozen(wallet.walletId, true)));
  if (wallet && wallet.status === "FROZEN") actions.append(actionButton("Cairkan dompet", () => setFrozen(wallet.walletId, false)));
  actions.append(actionButton("Batalkan transaksi", () => startReversal(log.transactionId)));
  const item = li("", top, verdict, " ", meta, document.createElement("br"), rules, actions);
  item.dataset.logId = log.logId;
  item.dataset.transactionId = log.transactionId;
  return item;
}

function actionButton(text, work) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "secondary";
  button.textContent = text;
  button.addEventListener("click", async () => {
    clearMessage();
    try { await busy(button, work); } catch (error) { fail(error); }
  });
  return button;
}

async function setFrozen(walletId, frozen) {
  const data = await gql(frozen ? Q.freeze : Q.unfreeze, { id: walletId });
  const wallet = data.freezeWallet || data.unfreezeWallet;
  say(`Dompet ${wallet.walletId}: ${wallet.status === "FROZEN" ? "dibekukan" : "aktif kembali"}.`, "success");
  await loadFraudPage();
}

on("fraud-filter", "submit", async (e) => {
  await busy(submitButton(e.currentTarget), async () => {
    fraudPaging.cursors = [null];
    fraudPaging.index = 0;
    await loadFraudPage();
  });
});

on("fraud-next", "click", async () => {
  if (!fraudPaging.cursors[fraudPaging.index + 1]) return;
  fraudPaging.index += 1;
  await loadFraudPage();
});

on("fraud-prev", "click", async () => {
  if (fraudPaging.index === 0) return;
  fraudPaging.index -= 1;
  await loadFraudPage();
});

let pendingReversal = null;

async function startReversal(transactionId) {
  $("reverse-id").value = transactionId;
  $("reverse-form").requestSubmit();
}

on("reverse-form", "submit", async (e) => {
  const form = e.currentTarget;
  await busy(submitButton(form), async () => {
    const id = $("reverse-id").value.trim();
    if (!id) { showFieldError(form, "transactionId", fieldWords("BAD_USER_INPUT", "transactionId")); return; }
    const data = await gql(Q.transaction, { id });
    if (!data.transaction) throw new ApiError("NOT_FOUND", "transactionId");
    pendingReversal = data.transaction;
    $("reverse-confirm-type").textContent = typeWord(data.transaction.type);
    $("reverse-confirm-amount").textContent = rupiah(data.transaction.amount);
    $("reverse-confirm-status").textContent = `${statusWord(data.transaction.status)} (${data.transaction.status})`;
    $("reverse-do").disabled = data.transaction.status !== "SUCCESS";
    $("reverse-confirm").hidden = false;
    $("reverse-confirm").focus();
  });
});

on("reverse-do", "click", async () => {
  if (!pendingReversal) return;
  await busy($("reverse-do"), async () => {
    const reason = $("reverse-reason").value.trim() || null;
    const data = await gql(Q.reverse, { id: pendingReversal.transactionId, reason });
    pendingReversal = null;
    $("reverse-confirm").hidden = true;
    say(`Transaksi ${data.reverseTransaction.transactionId} dibatalkan (${data.reverseTransaction.status}).`, "success");
    await loadFraudPage();
  });
});

on("reverse-cancel", "click", async () => {
  pendingReversal = null;
  $("reverse-confirm").hidden = true;
});

async function loadOutbox() {
  const data = await gql(Q.outbox);
  $("outbox-summary").textContent =
    `${data.pending.length} menunggu dikirim · ${data.overdue.length} terlambat · ${data.dead.length} gagal (DEAD)`;
  const list = $("outbox-list");
  list.replaceChildren();
  for (const message of data.dead) {
    list.append(li("", span("", `${message.kind} · transaksi ${message.transactionId}`),
      document.createElement("br"), span("meta", `${message.attempts} percobaan · ${message.lastError || "-"}`)));
  }
}

on("outbox-refresh", "click", async () => {
  await busy($("outbox-refresh"), loadOutbox);
});

const MARKETPLACE_SETTLEMENT = "sys:settlement:marketplace";

/** The double-entry ledger's proof, and what the marketplace is owed and not yet paid out. */
async function loadLedger() {
  const { trialBalance: report } = await gql(Q.ledger);
  $("ledger-summary").textContent = report.balanced
    ? `Seimbang: debit ${rupiah(report.debitTotal)} = kredit ${rupiah(report.creditTotal)}; jumlah semua saldo ${rupiah(report.balanceTotal)}.`
    : `TIDAK SEIMBANG: debit ${rupiah(report.debitTotal)}, kredit ${rupiah(report.creditTotal)}, jumlah saldo ${rupiah(report.balanceTotal)}. Jalankan sawit-reconcile.`;
  const settlement = report.accounts.find((account) => account.accountId === MARKETPLACE_SETTLEMENT);
  $("settlement-summary").textContent =
    `Hak marketplace yang belum dicairkan: ${rupiah(settlement ? settlement.balance : "0")}`;
}

on("ledger-check", "click", async () => {
  await busy($("ledger-check"), loadLedger);
});

on("settle-do", "click", async () => {
  await busy($("settle-do"), async () => {
    try {
      const { settleMerchant: batch } = await gql(Q.settle, { key: intentKey("settle", {}) });
      settle("settle");
      say(`Dicairkan ${rupiah(batch.total)} untuk ${batch.paymentCount} pembayaran.`);
    } catch (error) {
      if (!(error instanceof ApiError) || !error.retryable) settle("settle");
      if (error instanceof ApiError && error.code === "NOTHING_TO_SETTLE") say(errorWords(error.code));
      else throw error;
    }
    await loadLedger();
  });
});

on("audit-verify", "click", async () => {
  await busy($("audit-verify"), async () => {
    const { verifyAuditTrail: result } = await gql(Q.audit);
    $("audit-result").textContent = result.ok
      ? `Utuh: ${result.checked} catatan diperiksa, tidak ada perubahan.`
      : `RUSAK: catatan ${result.firstBrokenId} telah diubah atau dihapus (${result.checked} diperiksa).`;
  });
});

if (session.token) refresh().catch((error) => { session.token = null; showSignedOut(); fail(error); });
else showSignedOut();
