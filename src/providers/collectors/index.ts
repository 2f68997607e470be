import type { Collector, ProviderId } from "../types.js";
import { anthropicCollector } from "./anthropic.js";
import { deepseekCollector } from "./deepseek.js";
import { moonshotCollector } from "./moonshot.js";
import { openaiCollector } from "./openai.js";
import { openrouterCollector } from "./openrouter.js";

/** Every collector, by provider id. */
export const COLLECTORS: Readonly<Record<ProviderId, Collector>> = {
  openrouter: openrouterCollector,
  openai: openaiCollector,
  anthropic: anthropicCollector,
  moonshot: moonshotCollector,
  deepseek: deepseekCollector,
};
