// Live updates: the router's walletEvents subscription over SSE, so a customer's balances and
// transactions follow money moved elsewhere (another tab, an incoming transfer) without a reload.
import { session } from "./api.js";
import { epoch, refresh } from "./session_view.js";

const LIVE_QUERY = "subscription Live { walletEvents { walletId balance } }";
let live = null;

/** Follow the signed-in customer's wallet events (fetch + SSE, so the token goes in a header);
 *  each event refreshes the dashboard. Reconnects after a pause while the session lasts. */
export function startLiveUpdates() {
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

export function stopLiveUpdates() {
  if (live) live.abort();
  live = null;
  document.body.dataset.live = "off";
}
