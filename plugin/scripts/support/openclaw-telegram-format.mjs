// Runs under the e2e's Node 26: escapes each input with the plugin's built outbound.js and renders
// it with the REAL OpenClaw Telegram formatter (`markdownToTelegramHtml` of the installed
// openclaw, the function its Telegram delivery applies to plugin replies).
//   node openclaw-telegram-format.mjs <openclaw package dir> < inputs.json > [{input, escaped, html}]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [, , openclawPkgDir] = process.argv;
const tg = await import(pathToFileURL(join(openclawPkgDir, "dist/extensions/telegram/api.js")).href);
const { escapeForChannel } = await import(new URL("../../dist/outbound.js", import.meta.url).href);
const inputs = JSON.parse(readFileSync(0, "utf8"));
const out = inputs.map((input) => {
  const escaped = escapeForChannel(input, "telegram");
  return {
    input,
    escaped,
    html: tg.markdownToTelegramHtml(escaped),
    unescapedHtml: tg.markdownToTelegramHtml(input),
  };
});
process.stdout.write(JSON.stringify(out));
