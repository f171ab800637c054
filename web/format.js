// Rupiah and date formatting, and plain-Indonesian words for every error code the API can send.

/** "500000.00" -> "Rp 500.000"; "1500.50" -> "Rp 1.500,50". Exact: works on the decimal string. */
export function rupiah(amount) {
  if (amount === null || amount === undefined || amount === "") return "-";
  const text = String(amount);
  const negative = text.startsWith("-");
  const [units, cents = "00"] = text.replace("-", "").split(".");
  const grouped = units.replace(/\B(?=(\d{3})+(?!\d))/g, ".");
  const tail = cents.padEnd(2, "0") === "00" ? "" : "," + cents.padEnd(2, "0").slice(0, 2);
  return (negative ? "-" : "") + "Rp " + grouped + tail;
}

/** What a person types ("500.000", "Rp 20.000,50", "1500000") as the API's decimal string. */
export function toAmount(input) {
  let text = String(input || "").replace(/rp/i, "").replace(/\s/g, "");
  if (text.includes(",")) text = text.replace(/\./g, "").replace(",", ".");
  else if (/^\d{1,3}(\.\d{3})+$/.test(text)) text = text.replace(/\./g, "");
  return text;
}

export function when(iso) {
  if (!iso) return "-";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString("id-ID");
}

const STATUS_WORDS = {
  SUCCESS: "Berhasil", FAILED: "Gagal", PENDING: "Diproses", REJECTED: "Ditolak", REVERSED: "Dibatalkan",
  ACTIVE: "Aktif", FROZEN: "Dibekukan", CLOSED: "Ditutup", SAFE: "Aman", SUSPICIOUS: "Mencurigakan",
  FRAUD: "Penipuan", UNPAID: "Belum dibayar", PAID: "Lunas", EXPIRED: "Kedaluwarsa",
  DEPOSIT: "Isi saldo", PAYMENT: "Pembayaran", TRANSFER: "Transfer",
};

export function statusWord(status) {
  return STATUS_WORDS[status] ? `${STATUS_WORDS[status]} (${status})` : status || "-";
}

const ERROR_WORDS = {
  UNAUTHENTICATED: "Email atau kata sandi salah, atau sesi Anda sudah berakhir.",
  FORBIDDEN: "Anda tidak berhak melakukan ini.",
  BAD_USER_INPUT: "Data yang diisi tidak valid.",
  NOT_FOUND: "Data tidak ditemukan.",
  CONFLICT: "Data itu sudah dipakai.",
  INSUFFICIENT_FUNDS: "Saldo tidak cukup.",
  WALLET_FROZEN: "Dompet sedang dibekukan.",
  WALLET_CLOSED: "Dompet sudah ditutup.",
  LIMIT_EXCEEDED: "Melebihi batas saldo atau batas bulanan.",
  FRAUD_REJECTED: "Transaksi ditolak oleh pemeriksaan keamanan.",
  VA_NOT_FOUND: "Nomor virtual account tidak dikenal.",
  VA_AMOUNT_MISMATCH: "Jumlah tidak sama dengan tagihan.",
  VA_ALREADY_PAID: "Tagihan ini sudah dibayar.",
  VA_EXPIRED: "Tagihan ini sudah kedaluwarsa.",
  IDEMPOTENCY_KEY_REUSED: "Permintaan ganda dengan data berbeda.",
  RATE_LIMITED: "Terlalu banyak percobaan. Coba lagi nanti.",
  SUBGRAPH_UNAVAILABLE: "Layanan sedang tidak tersedia. Coba lagi sebentar lagi.",
  MARKETPLACE_UNAVAILABLE: "Marketplace sedang tidak tersedia. Coba lagi nanti.",
  INTERNAL: "Terjadi kesalahan pada sistem.",
};

export function errorWords(code, fallback) {
  return ERROR_WORDS[code] || fallback || "Terjadi kesalahan.";
}
