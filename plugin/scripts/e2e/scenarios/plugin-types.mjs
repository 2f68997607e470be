// The plugin against openclaw's REAL plugin-sdk declarations (tsc -p tsconfig.real.json).
import { checkRealTypes } from "../../check-real-types.mjs";

/** Scenario: plugin types. */
export const name = "plugin types";

/** @param {import("../harness.mjs").Context} ctx */
export async function run(ctx) {
  const { check, timed, log } = ctx;
  const realTypes = await timed("real-type conformance", () =>
    checkRealTypes({ log }).then(
      () => ({ ok: true, detail: "" }),
      (err) => ({ ok: false, detail: err?.message ?? String(err) }),
    ),
  );
  check(
    "plugin type-checks against openclaw's real plugin-sdk declarations (tsc -p tsconfig.real.json)",
    realTypes.ok,
    realTypes.detail,
  );
}
