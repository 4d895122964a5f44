import type { Logger } from '@audio/logger';

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

/**
 * The sidecar's stderr: its JSON log lines are re-logged through pino at their own level, any
 * other line (a library's print, a native crash message) at `info`. The last lines are kept
 * because, when the sidecar dies, they usually say why.
 */
export class StderrTail {
  private readonly lines: string[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly keep = 20,
  ) {}

  push(line: string, pid: number | undefined): void {
    if (line.trim() === '') return;
    this.lines.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
    if (this.lines.length > this.keep) this.lines.shift();
    const entry = parseLogLine(line);
    if (entry) {
      const { level, msg, time: _time, ...fields } = entry;
      this.logger[level as 'info']({ sidecarPid: pid, ...fields }, String(msg ?? ''));
    } else {
      this.logger.info({ sidecarPid: pid, stream: 'stderr' }, line);
    }
  }

  /** Oldest first, as written. */
  get tail(): string[] {
    return [...this.lines];
  }

  /** The last lines made readable: a JSON log line becomes `level: msg` plus its error's last line. */
  summary(count = 8): string[] {
    return this.lines.slice(-count).map((line) => {
      const entry = parseLogLine(line);
      if (!entry) return line;
      const err = typeof entry.err === 'string' ? entry.err.trim().split('\n').at(-1) : undefined;
      return `${entry.level}: ${String(entry.msg ?? '')}${err ? ` (${err})` : ''}`;
    });
  }
}

function parseLogLine(line: string): (Record<string, unknown> & { level: string }) | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as unknown;
    if (typeof value !== 'object' || value === null) return undefined;
    const record = value as Record<string, unknown>;
    return typeof record.level === 'string' && LEVELS.has(record.level)
      ? (record as Record<string, unknown> & { level: string })
      : undefined;
  } catch {
    return undefined;
  }
}
