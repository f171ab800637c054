// The wallet web app: customer dashboard and admin tools over the one federated /graphql endpoint.
import { ApiError, gql, session } from "./api.js";
import { errorWords, rupiah, statusWord, toAmount, when } from "./format.js";

const $ = (id) => document.getElementById(id);

const Q = {
  login: `mutation Login($email: String!, $password: String!) {
    loginUser(email: $email, password: $password) { access_token user { id username role } } }`,
  register: `mutation Register($username: String!, $fullname: String!, $email: String!, $password: String!) {
    registerUser(username: $username, fullname: $fullname, email: $email, password: $password) }`,
  dashboard: `query Dashboard {
    me {
      id username fullname role
      wallets {
        walletId walletName balance status
        transactions(first: 20) {
          transactionId amount type status vaNumber toWalletId createdAt
          failureReason { code message }
          fraudCheck { status reason }
        }
      }
      history(first: 20) { historyId transactionId amount type status vaNumber createdAt }
    } }`,
  createWallet: `mutation CreateWallet($name: String!) { createWallet(walletName: $name) { walletId walletName } }`,
  createTx: `mutation Pay($input: CreateTransactionInput!) {
    createTransaction(input: $input) { transactionId status amount vaNumber failureReason { code message } } }`,
  invoice: `query Invoice($va: String!) { invoice(vaNumber: $va) { vaNumber amount description status expiresAt } }`,
  fraudLogs: `query FraudLogs($status: String, $userId: ID) {
    getFraudLogs(status: $status, userId: $userId) { logId userId amount status reason createdAt } }`,
  freeze: `mutation Freeze($id: ID!) { freezeWallet(walletId: $id) { walletId status } }`,
  unfreeze: `mutation Unfreeze($id: ID!) { unfreezeWallet(walletId: $id) { walletId status } }`,
  audit: `query Audit { verifyAuditTrail { ok checked firstBrokenId } }`,
};

function say(text, kind = "info") {
  const box = $("message");
  box.textContent = text;
  box.dataset.kind = kind;
  box.hidden = false;
}

function fail(error) {
  say(error instanceof ApiError ? error.message : errorWords("INTERNAL"), "error");
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function row(...values) {
  const tr = document.createElement("tr");
  for (const value of values) tr.append(cell(value));
  return tr;
}

function formData(form) {
  return Object.fromEntries(new FormData(form).entries());
}

let me = null;

function showSignedOut() {
  me = null;
  $("auth-view").hidden = false;
  $("customer-view").hidden = true;
  $("admin-view").hidden = true;
  $("nav").hidden = true;
}

async function refresh() {
  const data = await gql(Q.dashboard);
  me = data.me;
  $("auth-view").hidden = true;
  $("customer-view").hidden = false;
  $("nav").hidden = false;
  $("who").textContent = `Masuk sebagai ${me.username} (${me.role === "ADMIN" ? "admin" : "pengguna"})`;
  $("admin-view").hidden = me.role !== "ADMIN";
  renderWallets(me.wallets || []);
  renderTransactions(me.wallets || []);
  renderHistory(me.history || []);
}

function renderWallets(wallets) {
  const list = $("wallet-list");
  list.replaceChildren();
  if (!wallets.length) {
    const li = document.createElement("li");
    li.textContent = "Belum ada dompet. Buat satu di bawah.";
    list.append(li);
  }
  for (const wallet of wallets) {
    const li = document.createElement("li");
    li.className = "wallet";
    const name = document.createElement("strong");
    name.textContent = wallet.walletName;
    const balance = document.createElement("span");
    balance.className = "balance";
    balance.textContent = rupiah(wallet.balance);
    const meta = document.createElement("small");
    meta.textContent = `${statusWord(wallet.status)} · ID ${wallet.walletId}`;
    li.append(name, " ", balance, document.createElement("br"), meta);
    list.append(li);
  }
  for (const select of document.querySelectorAll(".wallet-select")) {
    const chosen = select.value;
    select.replaceChildren();
    for (const wallet of wallets.filter((w) => w.status === "ACTIVE")) {
      const option = document.createElement("option");
      option.value = wallet.walletId;
      option.textContent = `${wallet.walletName} — ${rupiah(wallet.balance)}`;
      select.append(option);
    }
    if (chosen) select.value = chosen;
  }
}

function renderTransactions(wallets) {
  const rows = wallets.flatMap((w) => w.transactions || []);
  rows.sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  const body = $("tx-rows");
  body.replaceChildren();
  for (const tx of rows) {
    const reason = tx.failureReason ? errorWords(tx.failureReason.code, tx.failureReason.message) : "";
    const fraud = tx.fraudCheck && tx.fraudCheck.status !== "SAFE" ? `Pemeriksaan: ${statusWord(tx.fraudCheck.status)}` : "";
    const va = tx.vaNumber ? `VA ${tx.vaNumber}` : "";
    const tr = row(when(tx.createdAt), statusWord(tx.type), rupiah(tx.amount), statusWord(tx.status),
      [va, reason, fraud].filter(Boolean).join(" · "));
    tr.dataset.status = tx.status;
    body.append(tr);
  }
}

function renderHistory(entries) {
  const body = $("history-rows");
  body.replaceChildren();
  for (const entry of entries) {
    body.append(row(when(entry.createdAt), statusWord(entry.type), rupiah(entry.amount), statusWord(entry.status),
      entry.vaNumber || "-"));
  }
}

async function createTransaction(input) {
  const data = await gql(Q.createTx, { input });
  const tx = data.createTransaction;
  if (tx.status === "SUCCESS") say(`Transaksi berhasil: ${rupiah(tx.amount)}.`, "success");
  else if (tx.status === "PENDING") say("Transaksi sedang diproses. Status akan diperbarui.", "info");
  else say(`Transaksi ${statusWord(tx.status).toLowerCase()}: ${errorWords(tx.failureReason?.code, tx.failureReason?.message)}`, "error");
  await refresh();
  // History and notices are written by the transactions outbox just after the answer; look again.
  for (const delayMs of [1000, 3000]) setTimeout(() => { if (me) refresh().catch(fail); }, delayMs);
  return tx;
}

function on(id, event, handler) {
  $(id).addEventListener(event, async (e) => {
    e.preventDefault();
    try { await handler(e); } catch (error) { fail(error); }
  });
}

on("login-form", "submit", async (e) => {
  const { email, password } = formData(e.target);
  const data = await gql(Q.login, { email, password });
  session.token = data.loginUser.access_token;
  e.target.reset();
  say(`Selamat datang, ${data.loginUser.user.username}.`, "success");
  await refresh();
  $("main").focus();
});

on("register-form", "submit", async (e) => {
  const values = formData(e.target);
  await gql(Q.register, values);
  $("login-email").value = values.email;
  e.target.reset();
  say("Pendaftaran berhasil. Silakan masuk.", "success");
  $("login-password").focus();
});

on("reload", "click", async () => {
  await refresh();
  say("Data diperbarui.");
});

on("logout", "click", async () => {
  session.token = null;
  showSignedOut();
  say("Anda sudah keluar.");
});

on("wallet-form", "submit", async (e) => {
  const { walletName } = formData(e.target);
  await gql(Q.createWallet, { name: walletName });
  e.target.reset();
  say(`Dompet "${walletName}" dibuat.`, "success");
  await refresh();
});

on("deposit-form", "submit", async (e) => {
  const { walletId, amount } = formData(e.target);
  await createTransaction({ walletId, amount: toAmount(amount), type: "DEPOSIT" });
  e.target.reset();
});

on("transfer-form", "submit", async (e) => {
  const { walletId, toWalletId, amount } = formData(e.target);
  await createTransaction({ walletId, toWalletId: toWalletId.trim(), amount: toAmount(amount), type: "TRANSFER" });
  e.target.reset();
});

let pendingInvoice = null;

on("va-form", "submit", async (e) => {
  const { walletId, vaNumber } = formData(e.target);
  const data = await gql(Q.invoice, { va: vaNumber.trim() });
  if (!data.invoice) throw new ApiError("VA_NOT_FOUND");
  pendingInvoice = { ...data.invoice, walletId };
  $("va-confirm-number").textContent = data.invoice.vaNumber;
  $("va-confirm-description").textContent = data.invoice.description || "-";
  $("va-confirm-amount").textContent = rupiah(data.invoice.amount);
  $("va-confirm-status").textContent = statusWord(data.invoice.status);
  $("va-pay").disabled = data.invoice.status !== "UNPAID";
  $("va-confirm").hidden = false;
  $("va-confirm").focus();
});

on("va-pay", "click", async () => {
  if (!pendingInvoice) return;
  const { walletId, vaNumber, amount } = pendingInvoice;
  pendingInvoice = null;
  $("va-confirm").hidden = true;
  await createTransaction({ walletId, vaNumber, amount, type: "PAYMENT" });
  $("va-form").reset();
});

on("va-cancel", "click", async () => {
  pendingInvoice = null;
  $("va-confirm").hidden = true;
  $("va-number").focus();
});

on("fraud-filter", "submit", async (e) => {
  const { status, userId } = formData(e.target);
  const data = await gql(Q.fraudLogs, { status: status || null, userId: userId.trim() || null });
  const body = $("fraud-rows");
  body.replaceChildren();
  for (const log of data.getFraudLogs) {
    body.append(row(when(log.createdAt), log.userId, rupiah(log.amount), statusWord(log.status), log.reason));
  }
  say(`${data.getFraudLogs.length} log ditemukan.`);
});

$("freeze-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const action = e.submitter?.dataset.action || "freeze";
  const { walletId } = formData(e.target);
  try {
    const data = await gql(action === "freeze" ? Q.freeze : Q.unfreeze, { id: walletId.trim() });
    const wallet = data.freezeWallet || data.unfreezeWallet;
    say(`Dompet ${wallet.walletId}: ${statusWord(wallet.status)}.`, "success");
  } catch (error) { fail(error); }
});

on("audit-verify", "click", async () => {
  const { verifyAuditTrail: result } = await gql(Q.audit);
  $("audit-result").textContent = result.ok
    ? `Utuh: ${result.checked} catatan diperiksa, tidak ada perubahan.`
    : `RUSAK: catatan ${result.firstBrokenId} telah diubah atau dihapus (${result.checked} diperiksa).`;
});

if (session.token) refresh().catch((error) => { session.token = null; showSignedOut(); fail(error); });
else showSignedOut();
