/** The part of node-libpq's synchronous API creditgate uses (https://github.com/brianc/node-libpq). */
declare module "libpq" {
  export default class Libpq {
    connectSync(conninfo?: string): void;
    errorMessage(): string;
    finish(): void;
    exec(sql: string): void;
    execParams(sql: string, params: (string | null)[]): void;
    prepare(name: string, sql: string, nParams: number): void;
    execPrepared(name: string, params: (string | null)[]): void;
    resultStatus(): string;
    resultErrorMessage(): string;
    resultErrorFields(): { sqlState?: string; messagePrimary?: string; detail?: string; constraint?: string };
    clear(): void;
    ntuples(): number;
    nfields(): number;
    fname(i: number): string;
    ftype(i: number): number;
    getvalue(row: number, col: number): string;
    getisnull(row: number, col: number): boolean;
    cmdTuples(): string;
    transactionStatus(): number;
    escapeIdentifier(s: string): string;
    escapeLiteral(s: string): string;
  }
}
