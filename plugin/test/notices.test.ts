import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { registerCreditgate } from "../src/index.js";
import { FakeCreditgate } from "./support/fake-creditgate.mjs";
import { createFakeHost } from "./support/fake-host.js";

let cg: FakeCreditgate;
beforeEach(async () => {
  cg = await new FakeCreditgate({ token: "k" }).start();
});
afterEach(async () => {
  await cg.stop();
});

function setup(extra: Record<string, unknown> = {}, hostOpts: Parameters<typeof createFakeHost>[1] = {}) {
  const host = createFakeHost({ apiUrl: cg.url, apiToken: "k", noticePollMs: 60_000, ...extra }, hostOpts);
  const reg = registerCreditgate(host.api);
  return { host, reg };
}

describe("user notices", () => {
  it("are delivered once through the channel's outbound adapter and acked", async () => {
    const { host, reg } = setup();
    cg.addNotice({
      id: "n1",
      userId: "telegram:5550101",
      to: "telegram:5550101",
      accountId: "default",
      kind: "low_balance",
      text: "Te queda 0.40.",
    });
    cg.addNotice({
      id: "n2",
      userId: "whatsapp:+15551234567",
      to: "+15551234567",
      kind: "topup_received",
      text: "+5 créditos",
    });
    await reg.notices.pollOnce();
    await reg.notices.pollOnce();
    await reg.notices.pollOnce();
    expect(host.sent).toEqual([
      { channel: "telegram", to: "telegram:5550101", text: "Te queda 0.40.", accountId: "default" },
      { channel: "whatsapp", to: "+15551234567", text: "+5 créditos", accountId: undefined },
    ]);
    expect([...cg.acked].sort()).toEqual(["n1", "n2"]);
    expect(cg.count("POST", "/v1/notices/")).toBe(2);
  });

  it("creditgate's own shape: numeric id, accountId = the user (not a channel account), to = the peer", async () => {
    const { host, reg } = setup();
    const n = cg.addNotice({
      userId: "telegram:5550101",
      kind: "unblocked",
      text: "Ya puedes volver a escribir.",
    });
    expect(n).toMatchObject({ id: 1, channel: "telegram", to: "5550101", accountId: "telegram:5550101" });
    await reg.notices.pollOnce();
    await reg.notices.pollOnce();
    expect(host.sent).toEqual([
      { channel: "telegram", to: "5550101", text: "Ya puedes volver a escribir.", accountId: undefined },
    ]);
    expect([...cg.acked]).toEqual(["1"]);
    expect(cg.requests.filter((r) => r.method === "POST").map((r) => r.path)).toEqual(["/v1/notices/1/ack"]);
  });

  it("a failed ack is retried on the next poll without sending the message again", async () => {
    const { host, reg } = setup();
    cg.addNotice({ id: "n1", userId: "telegram:1", text: "hola" });
    let failAcks = 1;
    cg.failWith = (method, path) =>
      method === "POST" && path.endsWith("/ack") && failAcks-- > 0 ? 500 : undefined;
    await reg.notices.pollOnce();
    expect(host.sent).toHaveLength(1);
    expect(cg.acked.size).toBe(0);
    await reg.notices.pollOnce();
    expect(host.sent).toHaveLength(1);
    expect(cg.acked.has("n1")).toBe(true);
    expect(host.logs.some((l) => l.msg.includes("sent but not acked"))).toBe(true);
  });

  it("a failed send is not acked (at-least-once) and is retried with backoff", async () => {
    let now = 1_000_000;
    const { host } = setup({}, { failSendTo: new Set(["9"]) });
    const { NoticeDelivery } = await import("../src/notices.js");
    const { CreditgateClient } = await import("../src/client.js");
    const d = new NoticeDelivery({
      client: new CreditgateClient({ baseUrl: cg.url, token: "k", timeoutMs: 2_000 }),
      runtime: host.api.runtime,
      hostConfig: () => host.api.config,
      logger: host.api.logger,
      now: () => now,
    });
    cg.addNotice({ id: "bad", userId: "telegram:9", text: "x" });
    cg.addNotice({ id: "good", userId: "telegram:8", text: "y" });
    await d.pollOnce();
    expect(host.sent.map((s) => s.to)).toEqual(["8"]);
    expect([...cg.acked]).toEqual(["good"]);
    await d.pollOnce(); // inside the backoff window: not even tried
    expect(d.stats.sendFailures).toBe(1);
    now += 10_000;
    await d.pollOnce();
    expect(d.stats.sendFailures).toBe(2);
    expect(cg.acked.has("bad")).toBe(false);
  });

  it("a channel without an adapter is left un-acked and logged", async () => {
    const { host, reg } = setup();
    cg.addNotice({ id: "d1", userId: "discord:77", channel: "discord", to: "user:77", text: "z" });
    await reg.notices.pollOnce();
    expect(host.sent).toHaveLength(0);
    expect(cg.acked.size).toBe(0);
    expect(
      host.logs.some(
        (l) => l.level === "warn" && l.msg.includes('no outbound adapter for channel "discord"'),
      ),
    ).toBe(true);
  });

  it("Clawdbot: falls back to runtime.channel.<ch>.sendMessage<Ch>", async () => {
    const { host, reg } = setup({}, { legacy: true });
    cg.addNotice({ id: "c1", userId: "telegram:5550101", to: "telegram:5550101", text: "hola" });
    cg.addNotice({
      id: "c2",
      userId: "whatsapp:+1555",
      channel: "whatsapp",
      to: "+1555",
      text: "hi",
      accountId: "biz",
    });
    await reg.notices.pollOnce();
    expect(host.sent).toEqual([
      { channel: "telegram", to: "telegram:5550101", text: "hola", accountId: undefined },
      { channel: "whatsapp", to: "+1555", text: "hi", accountId: "biz" },
    ]);
    expect(cg.acked.size).toBe(2);
  });

  it("the registered service polls on start and stops cleanly", async () => {
    const { host } = setup({ noticePollMs: 200 });
    const svc = host.services.find((s) => s.id === "creditgate-notices");
    expect(svc).toBeDefined();
    cg.addNotice({ id: "s1", userId: "telegram:1", text: "a" });
    await svc?.start(host.serviceCtx());
    await new Promise((r) => setTimeout(r, 50));
    cg.addNotice({ id: "s2", userId: "telegram:1", text: "b" });
    await new Promise((r) => setTimeout(r, 400));
    await svc?.stop?.(host.serviceCtx());
    const polls = cg.count("GET", "/v1/notices");
    await new Promise((r) => setTimeout(r, 400));
    expect(cg.count("GET", "/v1/notices")).toBe(polls);
    expect(host.sent.map((s) => s.text)).toEqual(["a", "b"]);
  });

  it("deliverNotices=false: the service does not poll", async () => {
    const { host } = setup({ deliverNotices: false, noticePollMs: 200 });
    await host.services[0]?.start(host.serviceCtx());
    await new Promise((r) => setTimeout(r, 300));
    await host.services[0]?.stop?.(host.serviceCtx());
    expect(cg.count("GET", "/v1/notices")).toBe(0);
  });
});
