// The process's only writers to stderr (logs) and stdout (the ready line). A write to a closed
// pipe, a full disk or /dev/full fails; Node reports that as an 'error' event on the stream, and
// an 'error' nobody listens to kills the process. Logging must never take the node down, so each
// sink listens for those errors, drops the line that failed and every later one once the stream is
// gone, and counts what it dropped (keymesh_log_lines_dropped_total, src/metrics.ts).

export interface LineSink {
  /** Write `text` as is (pino hands complete lines, newline included). Never throws. */
  write(text: string): boolean;
}

let dropped = 0;

/**
 * Past this many bytes waiting in a stream (a pipe nobody reads), lines are dropped rather than
 * held in memory without bound.
 */
const MAX_BUFFERED = 1 << 20;

/** Lines dropped by every sink of this process since it started. */
export function droppedLogLines(): number {
  return dropped;
}

function safeSink(stream: NodeJS.WriteStream): LineSink {
  // A failed write is reported through the callback and then, for a stream, as 'error': the
  // listener only keeps that event from being fatal; the count is taken in the callback.
  stream.on('error', () => undefined);
  const onWritten = (err?: Error | null) => {
    if (err) dropped++;
  };
  return {
    write(text: string): boolean {
      if (stream.destroyed || stream.writableEnded || stream.writableLength > MAX_BUFFERED) {
        dropped++;
        return false;
      }
      try {
        stream.write(text, onWritten);
      } catch {
        dropped++;
      }
      return true;
    },
  };
}

// Made as this module loads, so that the streams' errors are harmless from then on, whoever writes.
const err = safeSink(process.stderr);
const out = safeSink(process.stdout);

/** Logs: pino's stream (Fastify's logger) and the node's own messages. */
export function stderrSink(): LineSink {
  return err;
}

/** stdout: the ready line and the few lines a starting node prints. */
export function stdoutSink(): LineSink {
  return out;
}

/** One line to stderr, newline added. */
export function logLine(line: string): void {
  stderrSink().write(line + '\n');
}

/** One line to stdout, newline added. */
export function printLine(line: string): void {
  stdoutSink().write(line + '\n');
}
