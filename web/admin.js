// The admin console: fraud logs (filter, paging, freeze/unfreeze, reversal after a confirmation),
// the outbox backlog, the ledger card (trial balance, marketplace payout) and the audit-chain
// check. Kept apart from the customer code: customers never see verdicts or rule codes.
import { ApiError, gql } from "./api.js";
import { errorWords, fieldWords, rupiah, statusWord, typeWord, when } from "./format.js";
import { $, li, span, submitButton } from "./dom.js";
import { Q } from "./queries.js";
import { clearMessage, fail, say, showFieldError } from "./messages.js";
import { busy, intentKey, on, settle } from "./actions.js";

const FRAUD_PAGE = 10;

const fraudPaging = { cursors: [null], index: 0 };

export async function loadFraudPage() {
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

export async function loadOutbox() {
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
export async function loadLedger() {
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
