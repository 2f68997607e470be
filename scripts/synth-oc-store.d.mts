/**
 * Writes `<outStateDir>/agents/<agent>/agent/openclaw-agent.sqlite` (OpenClaw >= 2026.7.2 layout)
 * for every agent of `stateDir`, a synthState JSONL state dir, holding the same transcripts.
 */
export declare function ocStoreFromState(
  stateDir: string,
  outStateDir: string,
): { rows: number; sessions: number; bytes: number };
