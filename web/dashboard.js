// The customer dashboard: wallets with the total balance, the transactions list, and the money
// actions (top-up, VA payment and transfer, the last two confirmed first) with a receipt after each.
// The chosen wallet stays chosen until the user changes it, so money never leaves the wrong wallet.
import { ApiError, gql } from "./api.js";
import { errorWords, fieldWords, isAmount, rupiah, statusWord, toAmount, typeWord, when } from "./format.js";
import { $, li, span, submitButton } from "./dom.js";
import { Q } from "./queries.js";
import { say, showFieldError } from "./messages.js";
import { busy, intentKey, on, settle } from "./actions.js";
import { me, refresh, timers, wallets } from "./session_view.js";

export const WALLET_KEY = "sawit.wallet";

function selectedWalletId() {
  return $("active-wallet").value || sessionStorage.getItem(WALLET_KEY) || "";
}

function walletName(walletId) {
  return wallets.find((w) => w.walletId === walletId)?.walletName || "dompet lain";
}

export function renderWallets() {
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

export function renderTransactions(rows) {
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
