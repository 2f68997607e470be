/**
 * The console is typed against the API's own OpenAPI document: console/src/api-types.ts is
 * generated from /docs/openapi.json by openapi-typescript, never edited by hand. This test
 * regenerates it and compares; `npm run console:types` (= this test with `-u`) rewrites it after a
 * route's schema changes.
 */
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";
import { expect } from "vitest";
import { testApp } from "../api/support.js";
import { test } from "../support/temp-db.js";

const TYPES = fileURLToPath(new URL("../../console/src/api-types.ts", import.meta.url));
const HEADER =
  "// Generated from /docs/openapi.json by `npm run console:types` (openapi-typescript). Do not edit.\n";

test("console/src/api-types.ts is generated from the current OpenAPI document", async ({
  db,
  onTestFinished,
}) => {
  const app = testApp(db);
  onTestFinished(() => app.close());
  const doc = (await app.inject({ url: "/docs/openapi.json" })).json();
  const generated = HEADER + astToString(await openapiTS(doc, { alphabetize: false }));
  await expect(generated).toMatchFileSnapshot(TYPES);
});
