import { type Command, Option } from "commander";
import { AppError, ErrorCode } from "../../errors.js";
import type { CliContext, GlobalOptions } from "../context.js";
import { renderTable, safeText, toJson } from "../output.js";

const iso = (ms: number | null) => (ms === null ? "" : new Date(ms).toISOString());

/** `keys create|list|revoke`: operator API keys (stored hashed; shown once at creation). */
export function registerKeyCommands(program: Command, ctx: CliContext): void {
  const keys = program.command("keys").description("operator API keys for the HTTP API (/v1)");
  const open = async (cmd: Command) => {
    const g = cmd.optsWithGlobals<GlobalOptions>();
    const config = ctx.config(g);
    const db = ctx.openDb(config);
    const { createApiKeys } = await import("../../auth/index.js");
    return { g, db, apiKeys: createApiKeys(db) };
  };

  keys
    .command("create")
    .description("create a key and print it once (only its hash is stored)")
    .addOption(
      new Option(
        "--scope <scope>",
        "push: only push usage (POST /v1/usage; an edge meter's key); read: every GET except /v1/keys; ingest: read + push usage, acknowledge notices and create payment links (POST /v1/topups); admin: everything",
      )
        .choices(["push", "read", "ingest", "admin"])
        .makeOptionMandatory(),
    )
    .option("--name <name>", "what the key is for, e.g. grafana or bot-eu")
    .action(async (o: { scope: "push" | "read" | "ingest" | "admin"; name?: string }, cmd: Command) => {
      const { g, db, apiKeys } = await open(cmd);
      try {
        const k = apiKeys.create({ scope: o.scope, name: o.name ?? null }, ctx.nowMs());
        if (g.json) return ctx.out(toJson(k));
        ctx.out(`${k.key}\n`);
        ctx.err(`created key ${k.id} (scope ${k.scope}); store it now: it cannot be shown again\n`);
      } finally {
        db.close();
      }
    });

  keys
    .command("list")
    .description("list keys (ids, scopes, last use; never the keys)")
    .action(async (_o: unknown, cmd: Command) => {
      const { g, db, apiKeys } = await open(cmd);
      try {
        const list = apiKeys.list();
        if (g.json) return ctx.out(toJson(list));
        ctx.out(
          renderTable(
            ["id", "name", "scope", "created", "last used", "revoked"],
            list.map((k) => [
              k.id,
              k.name ?? "",
              k.scope,
              iso(k.createdAtMs),
              iso(k.lastUsedAtMs),
              iso(k.revokedAtMs),
            ]),
          ),
        );
      } finally {
        db.close();
      }
    });

  keys
    .command("revoke")
    .description("revoke a key: requests with it get 401 from now on")
    .argument("<id>", "key id (see `creditgate keys list`)")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { g, db, apiKeys } = await open(cmd);
      try {
        if (!apiKeys.revoke(id, ctx.nowMs()))
          throw new AppError(ErrorCode.NotFound, `no active api key ${safeText(id)}`);
        if (g.json) return ctx.out(toJson(apiKeys.get(id)));
        ctx.out(`revoked key ${safeText(id)}\n`);
      } finally {
        db.close();
      }
    });
}
