// The only network code of the page: POST /graphql on its own origin (JSON, so the router's CSRF
// prevention lets it through), with the session's token.
import { errorWords } from "./format.js";

const TOKEN_KEY = "sawit.token";

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
};

export class ApiError extends Error {
  /** `field`: the input the API blamed (extensions.field); `retryable`: the request may not have run. */
  constructor(code, field = null, retryable = false) {
    super(errorWords(code));
    this.code = code;
    this.field = field;
    this.retryable = retryable;
  }
}

export async function gql(query, variables = {}) {
  const headers = { "content-type": "application/json" };
  if (session.token) headers.authorization = `Bearer ${session.token}`;
  let response;
  try {
    response = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  } catch {
    throw new ApiError("SUBGRAPH_UNAVAILABLE", null, true);
  }
  let body;
  try { body = await response.json(); } catch { throw new ApiError("INTERNAL", null, response.status >= 500); }
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    const code = first.extensions?.code || "INTERNAL";
    throw new ApiError(code, first.extensions?.field || null, code === "SUBGRAPH_UNAVAILABLE");
  }
  return body.data;
}

/** A fresh idempotency key: one per user intent. */
export function newKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  return `k-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}
