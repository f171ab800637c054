// The only network code of the page: POST /graphql on its own origin, with the session's token.
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
  constructor(code, message) {
    super(errorWords(code, message));
    this.code = code;
    this.detail = message;
  }
}

export async function gql(query, variables = {}) {
  const headers = { "content-type": "application/json" };
  if (session.token) headers.authorization = `Bearer ${session.token}`;
  let response;
  try {
    response = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  } catch {
    throw new ApiError("SUBGRAPH_UNAVAILABLE", "network");
  }
  let body;
  try { body = await response.json(); } catch { throw new ApiError("INTERNAL", `HTTP ${response.status}`); }
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    throw new ApiError(first.extensions?.code || "INTERNAL", first.message);
  }
  return body.data;
}
