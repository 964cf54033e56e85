// A job's one abort switch, made by the consumer and aborted by a cancel
// request or the job's timeout. Node makes an AbortController's signal on first
// read, and an AbortSignal with a listener costs some 7 µs per job: the
// pipeline races the handler through `onAbort` instead, so a job whose handler
// never reads its signal, and that nobody aborts, never makes one.
export class JobController extends AbortController {
  /** Called once, with the reason, when the job is aborted. */
  onAbort: ((reason: unknown) => void) | undefined = undefined;
  private abortedAlready = false;

  /** Whether the job was aborted, without making its signal. */
  get aborted(): boolean {
    return this.abortedAlready;
  }

  override abort(reason?: unknown): void {
    if (this.abortedAlready) return;
    this.abortedAlready = true;
    super.abort(reason);
    this.onAbort?.(this.signal.reason);
  }
}
