// The wallet web app: a customer dashboard and an admin console over the one federated /graphql.
// This entry only loads the modules (each wires its own buttons and forms) and starts the session
// already in sessionStorage, if any.
//
// Money actions follow three rules: one idempotency key per user intent (kept while the same intent
// is retried after a network failure, new once it has an answer), a busy button while it runs (a
// double click sends one request), and the chosen wallet stays chosen until the user changes it.
import { session } from "./api.js";
import { fail } from "./messages.js";
import { refresh, showSignedOut } from "./session_view.js";
import "./auth_forms.js";
import "./dashboard.js";
import "./admin.js";

if (session.token) refresh().catch((error) => { session.token = null; showSignedOut(); fail(error); });
else showSignedOut();
