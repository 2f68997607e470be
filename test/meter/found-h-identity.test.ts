import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { commandUser } from "../../plugin/src/commands.js";
import { gatedUser } from "../../plugin/src/gate.js";
import {
  chatUser,
  payerFromKeyAlone,
  whatsappLidAccount as pluginLidAccount,
  storableAccountId as pluginStorable,
  useWhatsAppLidResolver,
} from "../../plugin/src/user.js";
import { createWhatsAppLidResolver as pluginLidResolver } from "../../plugin/src/whatsapp-lid.js";
import { queryUsage } from "../../src/meter/report.js";
import { resolveAccount, storableAccountId, whatsappLidAccount } from "../../src/meter/resolve-user.js";
import { createWhatsAppLidResolver, parseLidReverseMapping } from "../../src/meter/sources/whatsapp-lid.js";
import { accountProblem } from "../../src/meter/validate.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";

/** test/cases built from public bug reports (who pays: accounts and senders). */
const CASES = resolve(import.meta.dirname, "../cases");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
  useWhatsAppLidResolver(null);
});

describe("case whatsapp-lid-sender: a WhatsApp LID whose number is known is the number's account", () => {
  const state = join(CASES, "whatsapp-lid-sender", "state");

  it("meter: whatsapp:+15551234567 3 calls $0.018 (its LID-keyed DM too), an unmapped LID its own", async () => {
    const r = await meterCaseDir(join(CASES, "whatsapp-lid-sender"), "calculate");
    w = r.world;
    expect(r.s.billed).toBe(4);
    const byUser = Object.fromEntries(
      queryUsage(r.world.db, { by: "user" }).map((u) => [
        u.key,
        { requests: u.requests, costUsd: u.costUsd },
      ]),
    );
    expect(byUser).toEqual({
      "whatsapp:+15551234567": { requests: 3, costUsd: "0.018" },
      "whatsapp:987654321098765@lid": { requests: 1, costUsd: "0.003" },
    });
  });

  it("plugin: a LID sender, or its LID-keyed DM, names and gates the number's account", () => {
    useWhatsAppLidResolver(pluginLidResolver(state, () => ({})));
    const ctx = (senderId: string, sessionKey?: string) => ({
      channel: "whatsapp",
      senderId,
      sessionKey,
      isAuthorizedSender: true,
      commandBody: "/recargar",
      config: {},
    });
    for (const senderId of ["123456789012345@lid", "123456789012345:7@lid", "whatsapp:123456789012345@lid"]) {
      expect(commandUser(ctx(senderId)), senderId).toBe("whatsapp:+15551234567");
      expect(gatedUser(undefined, "whatsapp", senderId), senderId).toBe("whatsapp:+15551234567");
    }
    const lidKey = "agent:main:whatsapp:direct:123456789012345@lid";
    expect(commandUser(ctx("123456789012345@lid", lidKey))).toBe("whatsapp:+15551234567");
    expect(gatedUser(lidKey, "whatsapp", "123456789012345@lid", "main")).toBe("whatsapp:+15551234567");
    expect(payerFromKeyAlone("main", lidKey)?.accountId).toBe("whatsapp:+15551234567");
    // a LID without a mapping stays itself, as in the meter
    expect(commandUser(ctx("987654321098765@lid"))).toBe("whatsapp:987654321098765@lid");
    // a group member's LID in a group (no DM key): the number too
    expect(commandUser(ctx("123456789012345@lid", "agent:main:whatsapp:group:120363000000000000@g.us"))).toBe(
      "whatsapp:+15551234567",
    );
  });

  it("a linked number's LID is the linked person; an id linked by its LID keeps the link", () => {
    const lid = createWhatsAppLidResolver(state);
    const links = {
      canonicals: new Map([["alice", "alice"]]),
      byId: new Map([["whatsapp:+15551234567", { name: "alice", order: 0 }]]),
    };
    expect(
      resolveAccount("main", "agent:main:whatsapp:direct:123456789012345@lid", {
        whatsappLid: lid,
        identityLinks: links,
      }).accountId,
    ).toBe("alice");
    expect(
      resolveAccount("main", "agent:main:whatsapp:direct:123456789012345@lid", { whatsappLid: lid }),
    ).toEqual({
      accountId: "whatsapp:+15551234567",
      via: "whatsapp-lid",
    });
    // the plugin's copy reads accounts as the meter does
    const pLid = pluginLidResolver(state, () => ({}));
    for (const acct of [
      "whatsapp:123456789012345@lid",
      "whatsapp:123456789012345:3@lid",
      "whatsapp:123456789012345@hosted.lid",
      "whatsapp:987654321098765@lid",
      "whatsapp:+15551234567",
      "telegram:123456789012345@lid",
      "whatsapp:abc@lid",
    ]) {
      for (const l of [null, links]) {
        expect(pluginLidAccount(acct, pLid, l), acct).toEqual(whatsappLidAccount(acct, lid, l));
      }
    }
    // without the mappings (another state dir) nothing changes
    expect(resolveAccount("main", "agent:main:whatsapp:direct:123456789012345@lid").accountId).toBe(
      "whatsapp:123456789012345@lid",
    );
  });

  it("mapping files: Baileys' JSON string, a number, a JID; junk maps nothing; a file written later is read", () => {
    expect(parseLidReverseMapping('"15551234567"')).toBe("+15551234567");
    expect(parseLidReverseMapping("15551234567")).toBe("+15551234567");
    expect(parseLidReverseMapping('"15551234567@s.whatsapp.net"')).toBe("+15551234567");
    expect(parseLidReverseMapping('"15551234567:3@s.whatsapp.net"')).toBe("+15551234567");
    for (const junk of ["null", '""', '{"a":1}', "not json", '"abc"'])
      expect(parseLidReverseMapping(junk)).toBeNull();
    const dir = mkdtempSync(join(tmpdir(), "cg-lid-"));
    try {
      const r = createWhatsAppLidResolver(dir);
      expect(r("555")).toBeNull();
      writeFileSync(join(dir, "lid-mapping-555_reverse.json"), '"15550001111"');
      // looked up again after the miss interval; a fresh resolver reads it at once
      expect(createWhatsAppLidResolver(dir)("555")).toBe("+15550001111");
      expect(r("../555")).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("case account-id-with-spaces: an id with a space bills (and tops up) its storable account", () => {
  it("meter: openai-user:john%20smith and nextcloud-talk:jane%20doe $0.0045 each, nothing held", async () => {
    const r = await meterCaseDir(join(CASES, "account-id-with-spaces"), "calculate");
    w = r.world;
    expect(r.s).toMatchObject({ billed: 2, held: 0 });
    const byUser = Object.fromEntries(
      queryUsage(r.world.db, { by: "user" }).map((u) => [
        u.key,
        { requests: u.requests, costUsd: u.costUsd },
      ]),
    );
    expect(byUser).toEqual({
      "openai-user:john%20smith": { requests: 1, costUsd: "0.0045" },
      "nextcloud-talk:jane%20doe": { requests: 1, costUsd: "0.0045" },
    });
  });

  it("plugin: the Nextcloud sender with a space, from its DM or elsewhere, names the account the meter bills", () => {
    const dm = "agent:main:nextcloud-talk:direct:jane doe";
    for (const sessionKey of [dm, undefined, "agent:main:nextcloud-talk:group:k3x9room"]) {
      const ctx = {
        channel: "nextcloud-talk",
        senderId: "Jane Doe",
        sessionKey,
        isAuthorizedSender: true,
        commandBody: "/recargar",
        config: {},
      };
      expect(commandUser(ctx), String(sessionKey)).toBe("nextcloud-talk:jane%20doe");
    }
    expect(gatedUser(dm, "nextcloud-talk", "Jane Doe", "main")).toBe("nextcloud-talk:jane%20doe");
    expect(payerFromKeyAlone("main", "agent:main:openai-user:john smith")?.accountId).toBe(
      "openai-user:john%20smith",
    );
    // a link naming the raw id still links it
    const links = {
      canonicals: new Map([["jane", "jane"]]),
      byId: new Map([["nextcloud-talk:jane doe", { name: "jane", order: 0 }]]),
    };
    expect(chatUser({ channel: "nextcloud-talk", senderId: "jane doe", identityLinks: links })).toBe("jane");
    expect(resolveAccount("main", dm, { identityLinks: links }).accountId).toBe("jane");
  });

  it("storable ids: valid ids never change; spaces, tabs, invisible characters and % encoded; long ids cut with a hash", () => {
    for (const id of ["telegram:5550101", "openai-user:50%off", "matrix:@alice:example.org", "alice%20smith"])
      expect(storableAccountId(id)).toBe(id);
    expect(storableAccountId("openai-user:a b\tc")).toBe("openai-user:a%20b%09c");
    expect(storableAccountId("openai-user:100% sure")).toBe("openai-user:100%25%20sure");
    expect(storableAccountId("openai-user:x\u200by z")).toBe("openai-user:x%E2%80%8By%20z");
    const long = `openai-user:${"u".repeat(250)}`;
    const fitted = storableAccountId(long);
    expect([...fitted].length).toBe(200);
    expect(fitted).toMatch(/^openai-user:u+~[0-9a-f]{16}$/);
    expect(storableAccountId(`openai-user:${"u".repeat(249)}v`)).not.toBe(fitted);
    // a lone surrogate stays (held: stored as UTF-8 it would merge with other ids)
    expect(storableAccountId("openai-user:x\ud800 y")).toBe("openai-user:x\ud800 y");
    for (const id of ["openai-user:a b", long, "telegram:1", "openai-user:x\u0000"]) {
      expect(pluginStorable(id)).toBe(storableAccountId(id));
      if (!/\p{Cs}/u.test(id)) expect(accountProblem(storableAccountId(id))).toBeNull();
    }
  });
});
