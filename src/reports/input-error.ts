/**
 * Bad report input that names what the operator typed: `--from` on the command line, `from` in
 * the API's query string. The message is written once with a namer; `message` is the CLI's
 * wording, {@link InputError.messageFor} gives another caller's (the API passes the field name).
 */
export class InputError extends RangeError {
  readonly #render: (name: (field: string) => string) => string;
  /**
   * @param render builds the message; call `name("from")` wherever an input is named.
   */
  constructor(render: (name: (field: string) => string) => string) {
    super(render((f) => `--${f}`));
    this.name = "InputError";
    this.#render = render;
  }
  /** The message with each input named by `name` (the API: the query or body field itself). */
  messageFor(name: (field: string) => string): string {
    return this.#render(name);
  }
}

/** The message of a report RangeError for an API caller: inputs named by their field names. */
export const apiMessage = (err: RangeError): string =>
  err instanceof InputError ? err.messageFor((f) => f) : err.message;
