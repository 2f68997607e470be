// The commands the running gateway got from the plugin, and the Telegram menu it made of them.

/** Scenario: commands registered. */
export const name = "commands registered";

/** @param {import("../harness.mjs").Context} ctx */
export async function run(ctx) {
  const { oc, env, port, gatewayToken, tg, check, openclaw, lastJson, until } = ctx;
  // 6b. The commands the RUNNING gateway has from the plugin (not the manifest's names): the
  //     gateway's `commands.list` RPC, and the native command menu it gave Telegram.
  const listed = await openclaw(oc, env, [
    "gateway",
    "call",
    "commands.list",
    "--json",
    "--params",
    JSON.stringify({ provider: "telegram", includeArgs: false }),
    "--url",
    `ws://127.0.0.1:${port}`,
    "--token",
    gatewayToken,
  ]);
  const listedJson = lastJson(listed.stdout);
  const pluginCmds = (listedJson?.commands ?? []).filter((c) => c.source === "plugin");
  const wantCmds = {
    consumo: "Tu saldo, uso de hoy y del mes, y límites",
    saldo: "Tu saldo de créditos",
    recargar:
      "Recargar créditos: /recargar [paquete] [stripe|mercadopago], /recargar auto <paquete> [umbral]|off",
    burn: "Gasto y autonomía del bot (operador)",
    tokens: "Saldo, gasto y autonomía de las cuentas de proveedores (operador)",
  };
  check(
    "gateway call commands.list: the running gateway has the plugin's 5 commands, with the descriptions its register() gave (language es)",
    listed.code === 0 &&
      Object.entries(wantCmds).every(([name, description]) =>
        pluginCmds.some(
          (c) =>
            (c.name === name || (c.textAliases ?? []).includes(`/${name}`)) && c.description === description,
        ),
      ),
    JSON.stringify({
      pluginCmds,
      code: listed.code,
      out: listed.stdout.slice(-1500) + listed.stderr.slice(-1500),
    }),
  );
  const menu = await until(() => tg.myCommands, 30_000);
  check(
    "…and registered them in the bot's Telegram command menu (setMyCommands)",
    Object.keys(wantCmds).every((name) => (menu ?? []).some((c) => c.command === name)),
    JSON.stringify(menu),
  );
}
