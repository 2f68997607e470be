import { describe, expect, test } from "vitest";
import { CONSOLE_LINK_PATH, registerConsoleLink } from "../src/console-link.js";
import type { PluginHttpRoute } from "../src/openclaw-types.js";

function call(route: PluginHttpRoute, method: string) {
  const headers: Record<string, string> = {};
  const res = {
    statusCode: 200,
    body: "",
    setHeader(name: string, value: string) {
      headers[name.toLowerCase()] = value;
    },
    end(body?: string) {
      this.body = body ?? "";
    },
  };
  const handled = route.handler({ method, url: CONSOLE_LINK_PATH }, res);
  return { handled, res, headers };
}

describe("gateway link to the operator console", () => {
  test("GET /creditgate behind the gateway's auth redirects to <apiUrl>/console/", () => {
    const routes: PluginHttpRoute[] = [];
    expect(registerConsoleLink({ registerHttpRoute: (r) => routes.push(r) }, "http://127.0.0.1:8787/")).toBe(
      true,
    );
    expect(routes).toHaveLength(1);
    const route = routes[0] as PluginHttpRoute;
    expect(route).toMatchObject({ path: "/creditgate", auth: "gateway", match: "exact" });
    const { handled, res, headers } = call(route, "GET");
    expect(handled).toBe(true);
    expect(res.statusCode).toBe(302);
    expect(headers.location).toBe("http://127.0.0.1:8787/console/");
    expect(res.body).toContain('href="http://127.0.0.1:8787/console/"');
    expect(call(route, "POST").res.statusCode).toBe(405);
  });

  test("a host without registerHttpRoute (Clawdbot) gets no route and no error", () => {
    expect(registerConsoleLink({}, "http://127.0.0.1:8787")).toBe(false);
  });
});
