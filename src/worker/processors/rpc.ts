import { type Job, UnrecoverableError } from "bullmq";
import { ZodError } from "zod";
import { AppError, ErrorCode } from "../../errors.js";
import { QUERY_NAMES, type Queries, type QueryName } from "../../limits/index.js";
import { type RpcReply, rpcReplyChannelOf } from "../queues.js";

/** An RPC question that will never be answered (bad params, unknown name): not retried. */
class RpcRefusal extends UnrecoverableError {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * The `rpc` queue: job name = query name, data = its params. The answer (or, on the last try, the
 * error) is published on the asking client's reply channel; see rpc-client.ts.
 */
export function createRpcProcessor(o: {
  queries: Queries;
  prefix: string;
  nowMs: () => number;
  /** Publishes one reply; a lost reply only makes the client time out. */
  reply: (channel: string | null, message: RpcReply) => void;
}) {
  function answerOrThrow(job: Job): unknown {
    if (!(QUERY_NAMES as string[]).includes(job.name))
      throw new RpcRefusal(ErrorCode.InvalidRequest, `unknown rpc ${job.name}`);
    try {
      return o.queries.answer(job.name as QueryName, job.data, o.nowMs());
    } catch (err) {
      if (err instanceof ZodError)
        throw new RpcRefusal(ErrorCode.InvalidRequest, `invalid params for ${job.name}: ${err.message}`);
      if (err instanceof AppError && !err.retryable)
        throw new RpcRefusal(err.code, `${err.code}: ${err.message}`);
      throw err;
    }
  }
  return async (job: Job): Promise<unknown> => {
    const channel = rpcReplyChannelOf(o.prefix, job.id);
    const id = job.id ?? "";
    let result: unknown;
    try {
      result = answerOrThrow(job);
    } catch (err) {
      const final = err instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (final) {
        const code = err instanceof RpcRefusal ? err.code : ErrorCode.Internal;
        o.reply(channel, { id, ok: false, code, message: err instanceof Error ? err.message : String(err) });
      }
      throw err;
    }
    o.reply(channel, { id, ok: true, result });
    // Answered on the channel: no need to store the result again as the job's return value.
    return channel ? null : result;
  };
}
