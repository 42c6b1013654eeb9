/** An error the CLI reports as one line, with its exit code (2: flags or ports, 3: exchange unreachable). */
export class ExitError extends Error {
  override readonly name = 'ExitError';
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}
