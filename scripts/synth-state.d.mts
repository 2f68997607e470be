export declare const SYNTH_PRICES: Record<
  string,
  { input: string; output: string; cacheRead: string; cacheWrite: string }
>;
export interface SynthResult {
  files: string[];
  /** Every session file with the account its session key names (`telegram:<peer>`). */
  sessions: { file: string; account: string }[];
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
export declare function synthCallLine(
  r: () => number,
  ts: number,
): { line: string; costPico: bigint; chargeMicro: bigint };
export declare function synthRng(seed: number): () => number;
