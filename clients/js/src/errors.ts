/** The ProblemDetails body every error of the service carries (`code` and `error` per the service's problem-code contract). */
export interface Problem {
  type?: string | null;
  title?: string | null;
  status?: number | null;
  detail?: string | null;
  /** A stable, kebab-case machine-readable code, e.g. `forbidden`, `chat-window-closed`, `rate-limited`. */
  code?: string;
  /** A short English message (what code written against the guide reads). */
  error?: string;
  /** For bad fields: field → messages. */
  errors?: Record<string, string[]>;
  [member: string]: unknown;
}

/** Codes used when the answer has no `code` member (e.g. a proxy's own error page). */
const codeForStatus: Record<number, string> = {
  400: 'invalid-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  429: 'rate-limited',
  500: 'internal-error',
  503: 'service-unavailable',
};

/**
 * What every call of the package throws when the service answers non-2xx (`status` is the HTTP status), or when it
 * cannot be reached at all (`status` 0, `code` `network-error`, the underlying error as `cause`).
 */
export class ChatBackendError extends Error {
  override readonly name = 'ChatBackendError';

  /** The HTTP status; 0 when no answer came (network failure). */
  readonly status: number;

  /** The problem's `code` member (e.g. `forbidden`, `chat-window-closed`); `network-error` when no answer came. */
  readonly code: string;

  /** The problem's `detail`: a sentence saying what went wrong. */
  readonly detail: string | undefined;

  /** Seconds to wait before trying again, from `Retry-After` (429, 503), when the answer has it. */
  readonly retryAfter: number | undefined;

  /** The whole ProblemDetails body, when the answer had one. */
  readonly problem: Problem | undefined;

  constructor(init: { status: number; code: string; detail?: string; retryAfter?: number; problem?: Problem; message?: string; cause?: unknown }) {
    super(init.message ?? init.detail ?? `The chat service answered ${init.status} (${init.code}).`, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.detail = init.detail;
    this.retryAfter = init.retryAfter;
    this.problem = init.problem;
  }

  /** Builds the error for a non-2xx answer; reads (and so consumes) its body. */
  static async fromResponse(response: Response, method: string, path: string): Promise<ChatBackendError> {
    let problem: Problem | undefined;
    try {
      const text = await response.text();
      const parsed: unknown = text ? JSON.parse(text) : undefined;
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        problem = parsed as Problem;
      }
    } catch {
      problem = undefined; // not JSON: a proxy's or load balancer's own page
    }

    const code = typeof problem?.code === 'string' && problem.code ? problem.code : codeForStatus[response.status] ?? `http-${response.status}`;
    const detail = typeof problem?.detail === 'string' ? problem.detail : typeof problem?.error === 'string' ? problem.error : undefined;
    return new ChatBackendError({
      status: response.status,
      code,
      detail,
      retryAfter: parseRetryAfter(response.headers.get('Retry-After')),
      problem,
      message: `${method} ${path} answered ${response.status} (${code})${detail ? `: ${detail}` : ''}`,
    });
  }

  static network(method: string, path: string, cause: unknown): ChatBackendError {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new ChatBackendError({ status: 0, code: 'network-error', message: `${method} ${path} failed: the chat service could not be reached (${reason})`, cause });
  }
}

/** `Retry-After` as seconds: a number of seconds, or an HTTP date turned into seconds from now. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === '') {
    return undefined;
  }

  if (/^\d+$/.test(value.trim())) {
    return Number(value.trim());
  }

  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}
