import { describe, expect, it } from "vitest";
import { personAccountId as pluginPersonAccountId } from "../../plugin/src/user.js";
import {
  isReservedSlashPrefix,
  linkedAccount,
  parseIdentityLinks,
  personAccountId,
  resolveAccount,
  routeToAccount,
  sessionChannel,
} from "../../src/meter/resolve-user.js";
import { createStoreAttribution } from "../../src/meter/sources/store-attribution.js";

const acct = (key: string | null, hints = {}) => resolveAccount("main", key, hints).accountId;

describe("resolveAccount", () => {
  it("names DM users channel:peer for every per-peer key shape of both eras", () => {
    expect(acct("agent:main:telegram:direct:123456")).toBe("telegram:123456");
    expect(acct("agent:main:telegram:dm:123456")).toBe("telegram:123456");
    expect(acct("agent:main:whatsapp:direct:+15551234567")).toBe("whatsapp:+15551234567");
    expect(acct("agent:main:telegram:default:direct:5550101")).toBe("telegram:5550101");
    expect(acct("agent:main:discord:direct:ABC")).toBe("discord:abc");
    expect(acct("agent:main:direct:777", { channel: "telegram" })).toBe("telegram:777");
    expect(acct("agent:main:dm:777", { channel: "Telegram" })).toBe("telegram:777");
  });

  it("bills a DM thread (`<dm key>:thread:<id>`, OpenClaw's resolveThreadSessionKeys) to the DM's user", () => {
    // keys of this shape are in OpenClaw's own tests; thread ids may hold colons
    expect(acct("agent:main:telegram:direct:5550101:thread:5550101:77")).toBe("telegram:5550101");
    expect(acct("agent:main:telegram:default:direct:123:thread:987:42")).toBe("telegram:123");
    expect(acct("agent:main:telegram:direct:123:thread:thread-1")).toBe("telegram:123");
    expect(acct("agent:main:discord:direct:123456789012345678:thread:999")).toBe(
      "discord:123456789012345678",
    );
    expect(acct("agent:main:slack:direct:U07ABC:Thread:1700000000.000100")).toBe("slack:u07abc");
    expect(acct("agent:main:direct:777:thread:5", { channel: "telegram" })).toBe("telegram:777");
    expect(acct("agent:main:telegram:dm:42:topic:3")).toBe("telegram:42");
    // a peer of several segments (Matrix ids hold a colon) keeps them up to the marker
    expect(acct("agent:main:matrix:direct:@alice:example.org:thread:$root")).toBe(
      "matrix:@alice:example.org",
    );
    // the first segment after direct: is always the peer, even one spelled like the marker
    expect(acct("agent:main:telegram:direct:thread:5")).toBe("telegram:thread:5");
  });

  it("bills an isolated heartbeat run (`<base key>:heartbeat`) to the operator, even of a DM", () => {
    const route = { routeTargets: ["telegram:5550101"], channel: "telegram" };
    expect(acct("agent:main:telegram:direct:5550101:heartbeat", route)).toBe("agent:main");
    expect(acct("agent:main:telegram:default:direct:5550101:heartbeat")).toBe("agent:main");
    // openclaw#59493: wakes accumulated the suffix
    expect(acct("agent:main:whatsapp:direct:+15551234567:heartbeat:heartbeat")).toBe("agent:main");
    expect(acct("agent:main:telegram:direct:5550101:thread:5550101:77:heartbeat")).toBe("agent:main");
    expect(acct("agent:main:direct:777:heartbeat", { channel: "telegram" })).toBe("agent:main");
    // a custom heartbeat.session: its entry copies the base's route, never billed from it
    expect(acct("agent:main:alerts:heartbeat", { routeTargets: ["whatsapp:+15551234567"] })).toBe(
      "agent:main",
    );
    expect(acct("agent:main:main:heartbeat")).toBe("agent:main");
    // the entry's marker (heartbeatIsolatedBaseSessionKey) wins over any key shape
    expect(acct("agent:main:alerts", { routeTargets: ["whatsapp:+1555"], heartbeat: true })).toBe(
      "agent:main",
    );
    // a peer, a thread id or an OpenAI user spelled "heartbeat" is not the suffix
    expect(acct("agent:main:telegram:direct:heartbeat")).toBe("telegram:heartbeat");
    expect(acct("agent:main:telegram:direct:heartbeat:heartbeat")).toBe("agent:main");
    expect(acct("agent:main:telegram:direct:5550101:thread:heartbeat")).toBe("telegram:5550101");
    expect(acct("agent:main:openai-user:heartbeat")).toBe("openai-user:heartbeat");
    // an OpenAI-compatible user is the caller's text: `alice:heartbeat` is a user, not the suffix;
    // that session's isolated heartbeat run is told by its entry's marker
    expect(acct("agent:main:openai-user:alice:heartbeat")).toBe("openai-user:alice:heartbeat");
    expect(acct("agent:main:openai-user:heartbeat:heartbeat")).toBe("openai-user:heartbeat:heartbeat");
    expect(acct("agent:main:openai-user:alice:heartbeat", { heartbeat: true })).toBe("agent:main");
    // a sub-agent that run spawned is the operator's too: its parent's marker says so, not its key
    const hbParent = { parentKey: () => "agent:main:openresponses-user:alice:heartbeat" };
    expect(acct("agent:main:subagent:hb", { ...hbParent, heartbeatOfKey: () => true })).toBe("agent:main");
    expect(acct("agent:main:subagent:hb", hbParent)).toBe("openresponses-user:alice:heartbeat");
    // a sub-agent spawned by an isolated heartbeat run is the operator's too
    expect(
      acct("agent:main:subagent:x", { parentKey: () => "agent:main:telegram:direct:5550101:heartbeat" }),
    ).toBe("agent:main");
  });

  it("bills a native slash command's session (`<ch>:slash:<userId>`) to its user, never its channel", () => {
    const route = { routeTargets: ["slack:channel:C0123ABC", "user:U07ABC"], channel: "slack" };
    expect(acct("agent:main:slack:slash:u07abc", route)).toBe("slack:u07abc");
    expect(acct("agent:main:discord:slash:123456789012345678")).toBe("discord:123456789012345678");
    expect(acct("agent:main:telegram:slash:5550101")).toBe("telegram:5550101");
    expect(acct("telegram:slash:5550101")).toBe("telegram:5550101");
    // a slash command of a group or DM marker is no such key
    expect(acct("agent:main:group:slash:1")).toBe("agent:main");
    // a per-account-channel-peer DM of an account named "slash" is that DM's user, a group no one's
    expect(acct("agent:main:telegram:slash:direct:5550101")).toBe("telegram:5550101");
    expect(acct("agent:main:telegram:slash:dm:5550101:thread:9")).toBe("telegram:5550101");
    expect(acct("agent:main:telegram:slash:group:-100123")).toBe("agent:main");
  });

  it("never bills a route that names a group, channel or room (unfamiliar key shapes)", () => {
    const to = (...routeTargets: string[]) => acct("agent:main:custom-thing", { routeTargets });
    expect(to("slack:channel:C0123ABC")).toBe("agent:main");
    expect(to("telegram:group:-100123")).toBe("agent:main");
    expect(to("whatsapp:120363025555555555@g.us")).toBe("agent:main");
    expect(to("channel:42", "telegram:5550101")).toBe("telegram:5550101");
    expect(to("telegram:5550101")).toBe("telegram:5550101");
  });

  it("names OpenAI-compatible HTTP users openai-user:<user>", () => {
    expect(acct("agent:main:openai-user:frank")).toBe("openai-user:frank");
    // OpenClaw's OpenResponses endpoint (/v1/responses) keys its `user` the same way, its own prefix
    expect(acct("agent:main:openresponses-user:Alice")).toBe("openresponses-user:alice");
    expect(acct("agent:main:openresponses-user:alice:heartbeat")).toBe("openresponses-user:alice:heartbeat");
    expect(acct("agent:main:openresponses-user")).toBe("agent:main");
  });

  it("bills the operator's main session, automation and groups to the agent, never from origin", () => {
    const route = { routeTargets: ["telegram:5550101"], channel: "telegram" };
    expect(acct("agent:main:main", route)).toBe("agent:main");
    expect(acct("agent:main:cron:daily:run:1", route)).toBe("agent:main");
    expect(acct("agent:main:hook:gmail", route)).toBe("agent:main");
    expect(acct("agent:main:telegram:group:-100123", route)).toBe("agent:main");
    expect(acct("agent:main:discord:channel:42:thread:7", route)).toBe("agent:main");
    expect(acct(null, route)).toBe("agent:main");
  });

  it("bills a sub-agent to the root of its spawn chain", () => {
    const parents: Record<string, string> = {
      "agent:main:subagent:b": "agent:main:subagent:a",
      "agent:main:subagent:a": "agent:main:telegram:direct:9",
    };
    expect(acct("agent:main:subagent:b", { parentKey: (k: string) => parents[k] })).toBe("telegram:9");
    expect(acct("agent:main:subagent:orphan", { parentKey: () => null })).toBe("agent:main");
  });

  it("bills a sub-agent of a per-peer DM to <parent's channel>:<peer>, never direct:<peer>", () => {
    const parentKey = (k: string) => (k === "agent:main:subagent:a" ? "agent:main:direct:5550101" : null);
    const channelOfKey = (k: string) => (k === "agent:main:direct:5550101" ? "telegram" : null);
    expect(acct("agent:main:subagent:a", { parentKey, channelOfKey })).toBe("telegram:5550101");
    // parent not indexed: the sub-agent's own channel hint
    expect(acct("agent:main:subagent:a", { parentKey, channel: "discord" })).toBe("discord:5550101");
  });

  it("bills the main session under a configured session.mainKey to the agent, never from its route", () => {
    const route = { routeTargets: ["telegram:5550101"], channel: "telegram", mainKey: "home" };
    expect(acct("agent:main:home", route)).toBe("agent:main");
    expect(acct("agent:main:HOME", route)).toBe("agent:main");
    expect(acct("agent:main:telegram:direct:5550101", route)).toBe("telegram:5550101");
  });

  it("falls back to the session's recorded route only for unfamiliar key shapes", () => {
    expect(acct("agent:main:custom-thing", { routeTargets: ["telegram:5550101"] })).toBe("telegram:5550101");
    expect(acct("agent:main:custom-thing", { routeTargets: ["5550202"], channel: "telegram" })).toBe(
      "telegram:5550202",
    );
    expect(acct("agent:main:custom-thing", {})).toBe("agent:main");
  });
});

describe("routeToAccount", () => {
  it("normalises tg: and bare ids", () => {
    expect(routeToAccount("tg:5")).toBe("telegram:5");
    expect(routeToAccount("5", "telegram")).toBe("telegram:5");
    expect(routeToAccount("5")).toBeNull();
  });
  it("reads a target kind as no channel: a person's id on the session's channel, a chat's none", () => {
    expect(routeToAccount("user:U07ABC", "slack")).toBe("slack:u07abc");
    expect(routeToAccount("user:123456789012345678", "discord")).toBe("discord:123456789012345678");
    expect(routeToAccount("user:U07ABC")).toBeNull();
    expect(routeToAccount("user:U07ABC", "webchat")).toBeNull();
    expect(routeToAccount("channel:C0123ABC", "slack")).toBeNull();
    expect(routeToAccount("chat:oc_123", "feishu")).toBeNull();
    expect(routeToAccount("slack:U07ABC")).toBe("slack:u07abc");
  });
  it("reads QQ's c2c (private chat) target as the person's id on qqbot (was qqbot:c2c:<openid>)", () => {
    // OpenClaw's qqbot targets: `qqbot:c2c:<openid>` (DM), `qqbot:group:<openid>`, `qqbot:channel:<id>`
    const openid = "A2B91CCEA0E039905B45C84DD96C92FD";
    expect(routeToAccount(`qqbot:c2c:${openid}`)).toBe(`qqbot:${openid.toLowerCase()}`);
    expect(routeToAccount(`qqbot:c2c:${openid}`, "qqbot")).toBe(`qqbot:${openid.toLowerCase()}`);
    expect(routeToAccount(`c2c:${openid}`, "qqbot")).toBe(`qqbot:${openid.toLowerCase()}`);
    expect(routeToAccount(`c2c:${openid}`)).toBeNull();
    expect(routeToAccount("qqbot:group:G1", "qqbot")).toBeNull();
    expect(routeToAccount("qqbot:channel:C1", "qqbot")).toBeNull();
    // the route fallback of a key it cannot read, and the channel a bare c2c target names (none)
    expect(
      resolveAccount("main", "agent:main:custom-xyz", { routeTargets: [`qqbot:c2c:${openid}`] }).accountId,
    ).toBe(`qqbot:${openid.toLowerCase()}`);
    expect(
      resolveAccount("main", "agent:main:custom-xyz", { routeTargets: [`c2c:${openid}`], channel: "qqbot" })
        .accountId,
    ).toBe(`qqbot:${openid.toLowerCase()}`);
  });
});

describe("Slack slash commands under a configured sessionPrefix", () => {
  const slashPrefixes = [{ prefix: "ask", channel: "slack" }];
  it("bill the user the key names, whatever the route", () => {
    expect(resolveAccount("main", "agent:main:ask:u07abc", { slashPrefixes }).accountId).toBe("slack:u07abc");
    expect(
      resolveAccount("main", "agent:main:ask:u07abc", { slashPrefixes, routeTargets: ["channel:C1"] })
        .accountId,
    ).toBe("slack:u07abc");
    expect(
      resolveAccount("main", "agent:main:slack:cmd:u07abc", {
        slashPrefixes: [{ prefix: "slack:cmd", channel: "slack" }],
      }).accountId,
    ).toBe("slack:u07abc");
  });
  it("leave other keys alone", () => {
    expect(resolveAccount("main", "agent:main:asker:u07abc", { slashPrefixes }).accountId).toBe("agent:main");
    expect(resolveAccount("main", "agent:main:ask", { slashPrefixes }).accountId).toBe("agent:main");
    expect(resolveAccount("main", "agent:main:cron:ask:run:1", { slashPrefixes }).accountId).toBe(
      "agent:main",
    );
    expect(resolveAccount("main", "agent:main:ask:u07abc:heartbeat", { slashPrefixes }).accountId).toBe(
      "agent:main",
    );
  });
  it("a configured prefix wins over the built-in reading of its key, longest first (tester, 2026-12-02)", () => {
    const at = (key: string, prefixes: { prefix: string; channel: string }[]) =>
      resolveAccount("main", key, { slashPrefixes: prefixes }).accountId;
    expect(at("agent:main:ops:slash:u07abc", [{ prefix: "ops:slash", channel: "slack" }])).toBe(
      "slack:u07abc",
    );
    expect(at("agent:main:slack:slash:ops:u07abc", [{ prefix: "slack:slash:ops", channel: "slack" }])).toBe(
      "slack:u07abc",
    );
    expect(at("agent:main:discord:slash:u07abc", [{ prefix: "discord:slash", channel: "slack" }])).toBe(
      "slack:u07abc",
    );
    const two = [
      { prefix: "ask", channel: "slack" },
      { prefix: "ask:ops", channel: "slack" },
    ];
    expect(at("agent:main:ask:ops:u07def", two)).toBe("slack:u07def");
    expect(at("agent:main:ask:u07abc", two)).toBe("slack:u07abc");
  });
  it("an Enterprise Grid user id (team:<t>:user:<u>) is the account its DMs and the default prefix bill", () => {
    const grid = "team:t0123:user:u07abc";
    const dm = resolveAccount("main", `agent:main:slack:direct:${grid}`, {}).accountId;
    expect(resolveAccount("main", `agent:main:ask:${grid}`, { slashPrefixes }).accountId).toBe(dm);
    expect(resolveAccount("main", `agent:main:slack:slash:${grid}`, {}).accountId).toBe(dm);
    expect(dm).toBe(`slack:${grid}`);
  });
  it("a prefix shaped like an account's own keys takes none of its DMs, channels or threads (tester)", () => {
    const p = (prefix: string) => [{ prefix, channel: "slack" }];
    const at = (key: string, prefix: string, extra = {}) =>
      resolveAccount("main", key, { slashPrefixes: p(prefix), ...extra }).accountId;
    expect(at("agent:main:slack:ops:direct:u07abc", "slack:ops")).toBe("slack:u07abc");
    expect(at("agent:main:slack:ops:channel:c0123abc", "slack:ops")).toBe("agent:main");
    expect(at("agent:main:slack:direct:u07abc", "slack")).toBe("slack:u07abc");
    expect(at("agent:main:slack:channel:c0123abc:thread:1.2", "slack")).toBe("agent:main");
    expect(at("agent:main:slack:ops:u07abc", "slack:ops")).toBe("slack:u07abc");
  });
  it("a prefix starting with a key word of its own kind is not used: the built-in reading wins", () => {
    for (const prefix of ["direct", "dm", "group", "channel", "cron", "subagent", "main", "openai-user"])
      expect(isReservedSlashPrefix(prefix)).toBe(true);
    const p = (prefix: string) => [{ prefix, channel: "slack" }];
    // a Telegram user's per-peer DM stays theirs
    expect(
      resolveAccount("main", "agent:main:direct:5550101", { slashPrefixes: p("direct"), channel: "telegram" })
        .accountId,
    ).toBe("telegram:5550101");
    expect(resolveAccount("main", "agent:main:group:u07abc", { slashPrefixes: p("group") }).accountId).toBe(
      "agent:main",
    );
    expect(resolveAccount("main", "agent:main:cron:u07abc", { slashPrefixes: p("cron") }).accountId).toBe(
      "agent:main",
    );
    expect(isReservedSlashPrefix("ask")).toBe(false);
    expect(isReservedSlashPrefix("telegram")).toBe(false);
  });
  it("route fallback: a user: target is the channel's user (custom prefix without config)", () => {
    expect(
      resolveAccount("main", "agent:main:ask:u07abc", {
        channel: "slack",
        routeTargets: ["slack:channel:C0123ABC", "user:U07ABC"],
      }).accountId,
    ).toBe("slack:u07abc");
  });
});

describe("session entries that mark an isolated heartbeat run", () => {
  it("sessions.json and the store's entry_json both read heartbeatIsolatedBaseSessionKey", async () => {
    const { parseSessionsJson } = await import("../../src/meter/sources/sessions-index.js");
    const { hintsFromEntry } = await import("../../src/meter/sources/store-attribution.js");
    const [hb, dm] = parseSessionsJson({
      "agent:main:alerts:heartbeat": { sessionId: "a", heartbeatIsolatedBaseSessionKey: "agent:main:alerts" },
      "agent:main:telegram:direct:1": { sessionId: "b", heartbeatIsolatedBaseSessionKey: "" },
    });
    expect([hb?.heartbeat, dm?.heartbeat]).toEqual([true, false]);
    expect(
      hintsFromEntry(JSON.stringify({ heartbeatIsolatedBaseSessionKey: "agent:main:x" })).heartbeat,
    ).toBe(true);
    expect(hintsFromEntry(JSON.stringify({ lastChannel: "telegram" })).heartbeat).toBe(false);
    expect(hintsFromEntry("not json").heartbeat).toBe(false);
  });
});

describe("OpenClaw's own surfaces are no user's channel (openclaw/openclaw#47745, #54441)", () => {
  it("a per-peer DM whose entry says webchat takes the entry's messaging channel", async () => {
    const { parseSessionsJson } = await import("../../src/meter/sources/sessions-index.js");
    const { hintsFromEntry } = await import("../../src/meter/sources/store-attribution.js");
    const [dm, rpc] = parseSessionsJson({
      "agent:main:direct:5550101": {
        sessionId: "a",
        lastChannel: "webchat",
        deliveryContext: { channel: "webchat" },
        origin: { provider: "webchat" },
        lastTo: "telegram:5550101",
      },
      "agent:main:direct:42": {
        sessionId: "b",
        lastChannel: "webchat",
        deliveryContext: { channel: "webchat" },
      },
    });
    expect(dm?.channel).toBe("telegram");
    expect(rpc?.channel).toBeNull();
    expect(
      hintsFromEntry(JSON.stringify({ lastChannel: "webchat", deliveryContext: { channel: "Telegram" } }))
        .channels,
    ).toEqual(["telegram"]);
    expect(resolveAccount("main", "agent:main:direct:5550101", { channel: "webchat" }).accountId).toBe(
      "direct:5550101",
    );
    expect(
      resolveAccount("main", "agent:main:dashboard:0d6e", {
        channel: "webchat",
        routeTargets: ["webchat:ui"],
      }).accountId,
    ).toBe("agent:main");
  });
});

describe("a WhatsApp JID is its DM peer, the E.164 number", () => {
  it("routes and DM keys holding a JID name the number's account; a LID stays", () => {
    expect(routeToAccount("15551234567@s.whatsapp.net", "whatsapp")).toBe("whatsapp:+15551234567");
    expect(routeToAccount("15551234567:3@s.whatsapp.net", "whatsapp")).toBe("whatsapp:+15551234567");
    expect(routeToAccount("whatsapp:15551234567@c.us")).toBe("whatsapp:+15551234567");
    expect(routeToAccount("15551234567", "whatsapp")).toBe("whatsapp:+15551234567");
    expect(routeToAccount("123456789012345@lid", "whatsapp")).toBe("whatsapp:123456789012345@lid");
    expect(routeToAccount("120363@g.us", "whatsapp")).toBe("whatsapp:120363@g.us");
    expect(routeToAccount("5550101", "telegram")).toBe("telegram:5550101");
    expect(resolveAccount("main", "agent:main:whatsapp:direct:15551234567@s.whatsapp.net").accountId).toBe(
      "whatsapp:+15551234567",
    );
  });
});

describe("routeToAccount: a target kind behind a channel name (tester, 2026-12-02)", () => {
  it("a person's kind is that id on the channel, a shared one no account", () => {
    expect(routeToAccount("slack:user:U07ABC")).toBe("slack:u07abc");
    expect(routeToAccount("discord:user:987654321")).toBe("discord:987654321");
    expect(routeToAccount("mattermost:direct:abc")).toBe("mattermost:abc");
    expect(routeToAccount("whatsapp:dm:15551234567@s.whatsapp.net")).toBe("whatsapp:+15551234567");
    expect(routeToAccount("slack:channel:C0123")).toBeNull();
    expect(routeToAccount("discord:guild:1:channel:2")).toBeNull();
    // ordinary accounts are unchanged
    expect(routeToAccount("telegram:5550101")).toBe("telegram:5550101");
    expect(routeToAccount("signal:uuid:abc")).toBe("signal:uuid:abc");
  });
});

describe("session.identityLinks: one linked person is one account (openclaw/openclaw#1033)", () => {
  // OpenClaw's resolveLinkedPeerId + buildAgentPeerSessionKey: the canonical name, lower-cased, is
  // the DM's peer on every channel under per-peer, per-channel-peer and per-account-channel-peer
  const identityLinks = parseIdentityLinks({
    Alice: ["telegram:7770707", "whatsapp:+15557770707", "discord:123456789012345678"],
    bob: ["4445550"],
    blank: [],
    notalist: "telegram:1",
    "agent:main": ["telegram:999"],
  });
  const via = (key: string, hints = {}) => resolveAccount("main", key, { identityLinks, ...hints });

  it("reads the config as OpenClaw does: names with ids, blank and non-list entries ignored", () => {
    expect(identityLinks && [...identityLinks.canonicals.keys()]).toEqual(["alice", "bob"]);
    expect(parseIdentityLinks({})).toBeNull();
    expect(parseIdentityLinks(["alice"])).toBeNull();
    expect(parseIdentityLinks({ " ": ["telegram:1"], x: [" ", 7] })).toBeNull();
    // an id listed under two names belongs to the first
    const two = parseIdentityLinks({ a: ["telegram:1"], b: ["telegram:1"] });
    expect(linkedAccount("telegram:1", two)).toBe("a");
  });

  it("a name with spaces is one valid account, its spaces percent-encoded; distinct names stay distinct", () => {
    const links = parseIdentityLinks({
      "Alice  Smith": ["telegram:7770707"],
      alice_smith: ["telegram:222"],
      "bad\u200bname": ["telegram:1"],
      badname: ["telegram:2"],
    });
    // OpenClaw writes the name as it is into the DM's key
    expect(
      resolveAccount("main", "agent:main:telegram:direct:alice  smith", { identityLinks: links }),
    ).toEqual({
      accountId: "alice%20%20smith",
      via: "identity",
    });
    expect(
      resolveAccount("main", "agent:main:telegram:direct:7770707", { identityLinks: links }).accountId,
    ).toBe("alice%20%20smith");
    expect(linkedAccount("telegram:222", links)).toBe("alice_smith");
    // invisible characters are encoded too: another person than `badname`
    expect(linkedAccount("telegram:1", links)).toBe("bad%E2%80%8Bname");
    expect(linkedAccount("telegram:2", links)).toBe("badname");
    // past 200 characters: cut, with a hash of the whole name (two long names stay two accounts)
    const long = personAccountId(`  ${"x".repeat(201)} `);
    expect(long).toMatch(/^x{183}~[0-9a-f]{16}$/);
    expect(personAccountId("x".repeat(202))).not.toBe(long);
    expect(personAccountId(`${"é".repeat(150)} ${"y".repeat(60)}`)).toMatch(/^é{150}%20y{30}~[0-9a-f]{16}$/);
    expect(personAccountId("   ")).toBeNull();
    expect(personAccountId("Bob\tJones")).toBe("bob%09jones");
    expect(personAccountId("100%")).toBe("100%25");
    expect(personAccountId("x\ud800y")).toBe("x%EF%BF%BDy");
    // the plugin (gate, commands, push) names the person the same way
    for (const n of [
      "Alice  Smith",
      "alice_smith",
      "bad\u200bname",
      "Bob\tJones",
      "100%",
      "x\ud800y",
      "x".repeat(201),
    ])
      expect(pluginPersonAccountId(n), n).toBe(personAccountId(n));
  });

  it("a DM keyed by the canonical name is the person's account on every channel and scope", () => {
    for (const [key, hints] of [
      ["agent:main:telegram:direct:alice", {}],
      ["agent:main:whatsapp:direct:alice", {}],
      ["agent:main:telegram:dm:alice", {}],
      ["agent:main:telegram:bot2:direct:alice", {}],
      ["agent:main:direct:alice", { channel: "whatsapp" }],
      ["agent:main:direct:alice", {}],
      ["agent:main:discord:direct:alice:thread:999", {}],
    ] as const) {
      expect(via(key, hints), key).toEqual({ accountId: "alice", via: "identity" });
    }
    // without the config the same keys are each channel's account, as before
    expect(acct("agent:main:telegram:direct:alice")).toBe("telegram:alice");
  });

  it("an account whose channel id is linked (a DM keyed before the link, a command, a route) is the person's", () => {
    expect(via("agent:main:telegram:direct:7770707").accountId).toBe("alice");
    expect(via("agent:main:whatsapp:direct:15557770707@s.whatsapp.net").accountId).toBe("alice");
    expect(via("agent:main:direct:7770707", { channel: "telegram" }).accountId).toBe("alice");
    // a bare id links that peer on any channel; a scoped one only on its channel
    expect(via("agent:main:signal:direct:4445550").accountId).toBe("bob");
    expect(via("agent:main:direct:4445550").accountId).toBe("bob");
    expect(via("agent:main:slack:direct:7770707").accountId).toBe("slack:7770707");
    expect(via("agent:main:direct:7770707").accountId).toBe("direct:7770707");
    expect(via("agent:main:discord:slash:123456789012345678")).toEqual({
      accountId: "alice",
      via: "identity",
    });
    expect(
      via("agent:main:custom:thing", { channel: "telegram", routeTargets: ["telegram:7770707"] }),
    ).toEqual({
      accountId: "alice",
      via: "identity",
    });
    expect(linkedAccount("whatsapp:+15557770707", identityLinks)).toBe("alice");
    expect(linkedAccount("telegram:5550101", identityLinks)).toBeNull();
  });

  it("what is no person's stays the operator's; unlinked users keep their account", () => {
    expect(via("agent:main:main").accountId).toBe("agent:main");
    expect(via("agent:main:telegram:group:-100:topic:3").accountId).toBe("agent:main");
    expect(via("agent:main:telegram:direct:alice:heartbeat").accountId).toBe("agent:main");
    expect(via("agent:main:telegram:direct:5550101").accountId).toBe("telegram:5550101");
    // a name that would read as the operator's own account is not used
    expect(via("agent:main:telegram:direct:999").accountId).toBe("telegram:999");
    // an OpenAI-compatible user is no channel id
    expect(via("agent:main:openai-user:alice").accountId).toBe("openai-user:alice");
  });

  it("a store session remembered under a channel's account (billed before the link) bills the person", () => {
    const key = "agent:main:telegram:direct:7770707";
    const mem = () => ({ sessionKey: key, accountId: "telegram:7770707", channel: "telegram" });
    const linkedStore = createStoreAttribution("main", null, mem, () => null, [], identityLinks);
    expect(linkedStore.rememberedAttribution(null, "s1", key).accountId).toBe("alice");
    expect(linkedStore.rememberedAttribution(null, "s1", null).accountId).toBe("alice");
    // an unlinked memory, or no links configured: the memory, as before
    const other = () => ({ sessionKey: "agent:main:custom:x", accountId: "telegram:5550101", channel: null });
    expect(
      createStoreAttribution("main", null, other, () => null, [], identityLinks).rememberedAttribution(
        null,
        "s2",
        null,
      ).accountId,
    ).toBe("telegram:5550101");
    expect(createStoreAttribution("main", null, mem).rememberedAttribution(null, "s1", key).accountId).toBe(
      "telegram:7770707",
    );
  });

  it("a sub-agent of a linked person's DM bills the person", () => {
    const r = resolveAccount("main", "agent:main:subagent:abc", {
      identityLinks,
      parentKey: () => "agent:main:whatsapp:direct:alice",
    });
    expect(r).toEqual({ accountId: "alice", via: "subagent>identity" });
  });
});

describe("per-account-channel-peer: an account id that is a kind word (case account-id-kind-word)", () => {
  it("`<ch>:<accountId>:direct:<peer>` is the peer's DM whatever word the account id is", () => {
    // OpenClaw's normalizeAccountId keeps any [a-z0-9_-] word; buildAgentPeerSessionKey writes it as is
    for (const account of [
      "group",
      "channel",
      "thread",
      "topic",
      "room",
      "direct",
      "dm",
      "main",
      "cron",
      "slash",
    ]) {
      expect(acct(`agent:main:telegram:${account}:direct:5550101`), account).toBe("telegram:5550101");
      expect(acct(`agent:main:telegram:${account}:dm:5550101:thread:9`), account).toBe("telegram:5550101");
    }
    expect(acct("agent:main:whatsapp:group:direct:+15551234567")).toBe("whatsapp:+15551234567");
  });

  it("groups, channels and other kinds keep their reading", () => {
    expect(acct("agent:main:telegram:group:-100123")).toBe("agent:main");
    expect(acct("agent:main:telegram:group:-100123:topic:7")).toBe("agent:main");
    expect(acct("agent:main:discord:channel:123:thread:456")).toBe("agent:main");
    expect(acct("agent:main:group:x:direct:5")).toBe("agent:main");
    expect(acct("agent:main:cron:job:direct:5")).toBe("agent:main");
    expect(acct("agent:main:telegram:direct:5550101")).toBe("telegram:5550101");
    expect(acct("agent:main:direct:777:direct:5", { channel: "telegram" })).toBe("telegram:777:direct:5");
    expect(acct("agent:main:telegram:group:direct:5550101:heartbeat")).toBe("agent:main");
  });
});

describe("an iMessage handle is OpenClaw's DM peer (case imessage-sender-handle)", () => {
  it("a raw phone handle is its E.164 form, an email lower-cased, a DM key unchanged", () => {
    expect(routeToAccount("15550101234", "imessage")).toBe("imessage:+15550101234");
    expect(routeToAccount("+1 (555) 010-1234", "imessage")).toBe("imessage:+15550101234");
    expect(routeToAccount("imessage:+1 555 010 1234")).toBe("imessage:+15550101234");
    expect(routeToAccount("sms:+15550101234", "imessage")).toBe("imessage:+15550101234");
    expect(routeToAccount("Dana@iCloud.com", "imessage")).toBe("imessage:dana@icloud.com");
    expect(resolveAccount("main", "agent:main:imessage:direct:+15550101234").accountId).toBe(
      "imessage:+15550101234",
    );
    expect(resolveAccount("main", "agent:main:imessage:dm:dana@icloud.com").accountId).toBe(
      "imessage:dana@icloud.com",
    );
    expect(resolveAccount("main", "agent:main:direct:15550101234", { channel: "imessage" }).accountId).toBe(
      "imessage:+15550101234",
    );
    // a canonical identityLinks name keyed on iMessage stays the name's
    const identityLinks = parseIdentityLinks({ dana2: ["imessage:+1 (555) 010-1234"] });
    expect(resolveAccount("main", "agent:main:imessage:direct:dana2", { identityLinks }).accountId).toBe(
      "dana2",
    );
    expect(routeToAccount("15550101234", "bluebubbles")).toBe("bluebubbles:15550101234");
  });
});

describe("an IRC sender's prefix is OpenClaw's DM peer, its nick (case irc-sender-prefix)", () => {
  it("nick!user@host is irc:<nick>; a DM key, another channel's id and a channel target unchanged", () => {
    expect(routeToAccount("alice!~alice@host.example", "irc")).toBe("irc:alice");
    expect(routeToAccount("irc:Alice!~alice@host.example")).toBe("irc:alice");
    expect(routeToAccount("alice!?@2001:db8::1", "irc")).toBe("irc:alice");
    expect(routeToAccount("alice", "irc")).toBe("irc:alice");
    expect(routeToAccount("channel:#openclaw", "irc")).toBeNull();
    // only IRC's senders are prefixes: another channel's id keeps its `!`/`@`
    expect(routeToAccount("alice!x@host.example", "matrix")).toBe("matrix:alice!x@host.example");
    expect(resolveAccount("main", "agent:main:irc:direct:alice").accountId).toBe("irc:alice");
    expect(resolveAccount("main", "agent:main:direct:alice", { channel: "irc" }).accountId).toBe("irc:alice");
    expect(resolveAccount("main", "agent:main:irc:group:#openclaw").accountId).toBe("agent:main");
    // an unfamiliar key's route (OpenClaw's IRC `From` is the prefix) names the nick's account
    expect(acct("agent:main:irc:ephemeral:x", { routeTargets: ["irc:alice!~alice@host.example"] })).toBe(
      "irc:alice",
    );
    // a link to the nick links the sender's prefix
    const identityLinks = parseIdentityLinks({ alice: ["irc:alice"] });
    expect(acct("agent:main:irc:ephemeral:x", { routeTargets: ["irc:alice!~a@h"], identityLinks })).toBe(
      "alice",
    );
  });
});

describe("a Slack Enterprise Grid user id is a person (case slack-grid-sender-team)", () => {
  it("team:<t>:user:<u> is slack:team:<t>:user:<u>, bare, behind its channel or a person kind", () => {
    const g = "slack:team:t0grida:user:u07abc";
    expect(routeToAccount("team:T0GRIDA:user:U07ABC", "slack")).toBe(g);
    expect(routeToAccount("team:T0GRIDA:user:U07ABC")).toBe(g);
    expect(routeToAccount("slack:team:T0GRIDA:user:U07ABC")).toBe(g);
    expect(routeToAccount("user:team:T0GRIDA:user:U07ABC", "slack")).toBe(g);
    expect(routeToAccount("team:T0GRIDA:channel:C0123", "slack")).toBeNull();
    expect(routeToAccount("webchat:team:T0GRIDA:user:U07ABC")).toBeNull();
    // an unfamiliar key's route to a Grid user bills that user (was the operator's)
    expect(acct("agent:main:slack:ephemeral:x", { routeTargets: ["slack:team:T0GRIDA:user:U07ABC"] })).toBe(
      g,
    );
    expect(acct("agent:main:slack:direct:team:t0grida:user:u07abc")).toBe(g);
  });
});

describe("a sender id with a kind of its own is no channel (case signal-uuid-sender)", () => {
  it("Signal's `uuid:<uuid>` is signal:uuid:<uuid>; Teams' `29:<id>` that id on the channel", () => {
    const u = "6f1c2a9e-4b7d-4e2a-9c3f-1a2b3c4d5e6f";
    expect(routeToAccount(`uuid:${u.toUpperCase()}`, "signal")).toBe(`signal:uuid:${u}`);
    expect(routeToAccount(`uuid:${u}`)).toBe(`signal:uuid:${u}`);
    expect(routeToAccount(`signal:uuid:${u}`)).toBe(`signal:uuid:${u}`);
    expect(routeToAccount("29:1AbCdEf", "msteams")).toBe("msteams:29:1abcdef");
    expect(routeToAccount("29:1AbCdEf")).toBeNull();
    expect(routeToAccount("msteams:29:1abcdef")).toBe("msteams:29:1abcdef");
    // the DM key names the same account
    expect(acct(`agent:main:signal:direct:uuid:${u}`)).toBe(`signal:uuid:${u}`);
    expect(acct(`agent:main:direct:uuid:${u}`, { channel: "signal" })).toBe(`signal:uuid:${u}`);
    // a route `uuid:<uuid>` names Signal as the session's channel
    expect(sessionChannel([null, "webchat"], [`uuid:${u}`])).toBe("signal");
  });
});
