// A stand-in for the Telegram Bot API on 127.0.0.1 (OpenClaw: channels.telegram.apiRoot).
// Long-polled getUpdates delivers what the test injects; sendMessage and friends are recorded.
// sendMessage applies Telegram's parse_mode rules like the real server: with "HTML" the text is
// parsed (./telegram-html.mjs) into what the user sees, and invalid HTML gets Telegram's 400.
import { createServer } from "node:http";
import { parseTelegramHtml } from "./telegram-html.mjs";

export async function startFakeTelegram({ botId = 900000001, username = "creditgate_e2e_bot" } = {}) {
  const updates = [];
  const sent = [];
  const calls = [];
  /** sendMessage calls Telegram would refuse (400 can't parse entities), with the error. */
  const refused = [];
  /** The last setMyCommands `commands` list (the bot's native command menu). */
  let myCommands = null;
  const waiters = new Set();
  let nextUpdateId = 1;
  let nextMessageId = 100;
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://x");
    const m = /^\/bot[^/]+\/(\w+)$/.exec(url.pathname);
    const method = m?.[1] ?? "";
    let params = Object.fromEntries(url.searchParams);
    if (raw) {
      try {
        params = { ...params, ...JSON.parse(raw) };
      } catch {
        params = { ...params, ...Object.fromEntries(new URLSearchParams(raw)) };
      }
    }
    calls.push(method);
    const ok = (result) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ ok: true, result }));
    };
    switch (method) {
      case "getMe":
        return ok({
          id: botId,
          is_bot: true,
          first_name: "creditgate e2e",
          username,
          can_join_groups: false,
          can_read_all_group_messages: false,
          supports_inline_queries: false,
        });
      case "getUpdates": {
        const offset = Number(params.offset ?? 0);
        const pending = () => updates.filter((u) => u.update_id >= offset);
        if (pending().length || Number(params.timeout ?? 0) === 0) return ok(pending());
        const w = {
          fire: () => {
            clearTimeout(w.timer);
            waiters.delete(w);
            ok(pending());
          },
          timer: setTimeout(() => w.fire(), Math.min(Number(params.timeout) * 1000, 25_000)),
        };
        waiters.add(w);
        req.on("close", () => {
          clearTimeout(w.timer);
          waiters.delete(w);
        });
        return;
      }
      case "sendMessage": {
        const raw = String(params.text ?? "");
        let seen = { text: raw, entities: [] };
        if (String(params.parse_mode ?? "") === "HTML") {
          try {
            seen = parseTelegramHtml(raw);
          } catch (err) {
            refused.push({ chatId: String(params.chat_id), html: raw, error: err.message });
            res.writeHead(400, { "content-type": "application/json" });
            res.end(JSON.stringify({ ok: false, error_code: 400, description: err.message }));
            return;
          }
        }
        const msg = {
          message_id: nextMessageId++,
          date: Math.floor(Date.now() / 1000),
          chat: { id: Number(params.chat_id), type: "private" },
          from: { id: botId, is_bot: true, first_name: "creditgate e2e", username },
          text: seen.text,
          ...(seen.entities.length ? { entities: seen.entities } : {}),
        };
        // `text`: what the user reads; `html`: what OpenClaw sent; `entities`: its formatting.
        sent.push({
          chatId: String(params.chat_id),
          text: seen.text,
          html: raw,
          parseMode: params.parse_mode ?? null,
          entities: seen.entities,
          at: Date.now(),
        });
        return ok(msg);
      }
      case "getChat":
        return ok({ id: Number(params.chat_id), type: "private", first_name: "User" });
      case "getMyCommands":
        return ok(myCommands ?? []);
      case "setMyCommands": {
        let cmds = params.commands;
        if (typeof cmds === "string") {
          try {
            cmds = JSON.parse(cmds);
          } catch {}
        }
        myCommands = Array.isArray(cmds) ? cmds : [];
        return ok(true);
      }
      case "getWebhookInfo":
        return ok({ url: "", has_custom_certificate: false, pending_update_count: 0 });
      default:
        return ok(true);
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const port = server.address().port;
  return {
    apiRoot: `http://127.0.0.1:${port}`,
    sent,
    calls,
    refused,
    get myCommands() {
      return myCommands;
    },
    /** A private message from a user; `/cmd` texts get a bot_command entity like real Telegram. */
    inject(userId, text, firstName = "User") {
      const cmd = /^\/\S+/.exec(text);
      updates.push({
        update_id: nextUpdateId++,
        message: {
          message_id: nextMessageId++,
          date: Math.floor(Date.now() / 1000),
          chat: { id: userId, type: "private", first_name: firstName },
          from: { id: userId, is_bot: false, first_name: firstName, language_code: "es" },
          text,
          ...(cmd ? { entities: [{ type: "bot_command", offset: 0, length: cmd[0].length }] } : {}),
        },
      });
      for (const w of [...waiters]) w.fire();
    },
    async waitFor(pred, timeoutMs = 60_000) {
      const t = Date.now();
      while (Date.now() - t < timeoutMs) {
        const hit = sent.find(pred);
        if (hit) return hit;
        await new Promise((r) => setTimeout(r, 200));
      }
      return null;
    },
    stop: () =>
      new Promise((r) => {
        for (const w of [...waiters]) w.fire();
        server.closeAllConnections?.();
        server.close(() => r());
      }),
  };
}
