// Rupiah and date formatting, and plain-Indonesian words for statuses and error codes. Customers
// never see a fraud verdict or a rule code: those words exist only for the admin view.

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

/** True when `toAmount`'s result is a positive amount with at most 2 decimals. */
export function isAmount(text) {
  return /^\d+(\.\d{1,2})?$/.test(text) && Number(text) > 0;
}

export function when(iso) {
  if (!iso) return "-";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString("id-ID");
}

const CUSTOMER_STATUS = {
  SUCCESS: "Berhasil", FAILED: "Gagal", PENDING: "Diproses", REJECTED: "Ditolak", REVERSED: "Dibatalkan",
  ACTIVE: "Aktif", FROZEN: "Dibekukan", CLOSED: "Ditutup", UNPAID: "Belum dibayar", PAID: "Lunas",
  EXPIRED: "Kedaluwarsa",
};

const TYPE_WORDS = { DEPOSIT: "Isi saldo", PAYMENT: "Pembayaran VA", TRANSFER: "Transfer" };

/** A status in the customer's words (no codes, no verdicts). */
export function statusWord(status) {
  return CUSTOMER_STATUS[status] || "Diproses";
}

export function typeWord(type) {
  return TYPE_WORDS[type] || type || "-";
}

const ERROR_WORDS = {
  UNAUTHENTICATED: "Email atau kata sandi salah, atau sesi Anda sudah berakhir.",
  FORBIDDEN: "Anda tidak berhak melakukan ini.",
  BAD_USER_INPUT: "Periksa kembali isian yang ditandai.",
  NOT_FOUND: "Data tidak ditemukan.",
  CONFLICT: "Data itu sudah dipakai.",
  INSUFFICIENT_FUNDS: "Saldo tidak cukup.",
  WALLET_FROZEN: "Dompet sedang dibekukan. Hubungi layanan pelanggan.",
  WALLET_CLOSED: "Dompet sudah ditutup.",
  LIMIT_EXCEEDED: "Melebihi batas saldo atau batas penerimaan bulanan.",
  FRAUD_REJECTED: "Transaksi ditolak demi keamanan; coba lagi dalam 1 menit.",
  VA_NOT_FOUND: "Nomor virtual account tidak dikenal.",
  VA_AMOUNT_MISMATCH: "Jumlah tidak sama dengan tagihan.",
  VA_ALREADY_PAID: "Tagihan ini sudah dibayar.",
  VA_EXPIRED: "Tagihan ini sudah kedaluwarsa.",
  IDEMPOTENCY_KEY_REUSED: "Permintaan ganda dengan data berbeda. Muat ulang lalu coba lagi.",
  RATE_LIMITED: "Terlalu banyak percobaan. Coba lagi dalam beberapa menit.",
  SUBGRAPH_UNAVAILABLE: "Layanan sedang tidak tersedia. Coba lagi sebentar lagi.",
  MARKETPLACE_UNAVAILABLE: "Marketplace sedang tidak tersedia. Coba lagi nanti.",
  CSRF_PREVENTED: "Permintaan ditolak oleh pengaman peramban. Muat ulang halaman.",
  NOTHING_TO_SETTLE: "Tidak ada saldo marketplace yang perlu dicairkan.",
};

/** Words for a code; unknown codes get a neutral sentence, never the server's (English) text. */
export function errorWords(code) {
  return ERROR_WORDS[code] || "Terjadi kesalahan pada sistem. Coba lagi.";
}

const FIELD_WORDS = {
  amount: "Tulis jumlah rupiah, misalnya 12.500 atau 12.500,50 (paling banyak 2 angka desimal).",
  email: "Tulis alamat email yang benar, misalnya nama@contoh.com.",
  password: "Kata sandi minimal 8 karakter.",
  username: "Nama pengguna 3–32 karakter: huruf, angka atau garis bawah.",
  fullname: "Nama lengkap wajib diisi.",
  walletName: "Nama dompet wajib diisi (paling banyak 50 karakter).",
  toUsername: "Tulis nama pengguna penerima.",
  vaNumber: "Tulis nomor VA seperti DS-8800…",
  transactionId: "Tulis ID transaksi yang benar.",
  reason: "Alasan paling banyak 200 karakter.",
};

const CONFLICT_WORDS = {
  email: "Email ini sudah terdaftar. Silakan masuk.",
  username: "Nama pengguna ini sudah dipakai. Pilih yang lain.",
};

/** The message under one input, for an error the API tied to that field. */
export function fieldWords(code, field) {
  if (code === "CONFLICT" && CONFLICT_WORDS[field]) return CONFLICT_WORDS[field];
  if (code === "NOT_FOUND" && field === "toUsername") return "Penerima tidak ditemukan atau tidak dapat menerima.";
  return FIELD_WORDS[field] || errorWords(code);
}
