/** Errors of the meta package and the CLI: a stable `code`, a message that says what to do, `cause`. */
export class OvlError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OvlError';
    this.code = code;
  }
}
