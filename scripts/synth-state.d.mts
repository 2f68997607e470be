export declare const SYNTH_PRICES: Record<
  string,
  { input: string; output: string; cacheRead: string; cacheWrite: string }
>;
export interface SynthResult {
  files: string[];
  bytes: number;
  events: number;
  perAccount: Map<string, { events: number; costPico: bigint; chargeMicro: bigint }>;
}
export declare function synthState(o: {
  stateDir: string;
  agents?: number;
  sessions: number;
  turns: number;
  toolBytes?: number;
  users?: number;
  seed?: number;
  startMs?: number;
}): SynthResult;
