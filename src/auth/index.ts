/**
 * auth: operator API keys (create, list, revoke, authenticate) and their scopes. Stores only
 * key hashes; never logs or returns a key except once, at creation.
 */
export {
  type ApiKeyInfo,
  type ApiKeys,
  createApiKeys,
  type Principal,
  SCOPES,
  type Scope,
  scopeAllows,
} from "./api-keys.js";
export {
  CONSOLE_SESSION_TTL_MS,
  type ConsoleSession,
  type ConsoleSessions,
  createConsoleSessions,
  csrfMatches,
} from "./console-sessions.js";
