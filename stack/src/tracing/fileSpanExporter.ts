// A span exporter that appends each finished span as one JSON line to a file: the local stack's "collector", with no
// network and nothing to run. Writes are synchronous and unbuffered so a component killed with SIGKILL (as the chaos
// run and `stack.kill` do) loses no span it had finished; at most the line being written is torn, which the reader skips.
// A stack left running with traffic would grow the file without end: past `maxBytes` it becomes `<name>.previous.jsonl`
// (replacing the one before) and a new file starts, so a component keeps at most about twice that.
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { toSpanRecord } from './spanRecord';

/** Default size at which a span file is set aside. */
export const DEFAULT_MAX_SPAN_FILE_BYTES = 64 * 1024 * 1024;

/** The name a full span file is moved to: `publisher.jsonl` -> `publisher.previous.jsonl` (still read by `npm run trace`). */
export const previousSpanFile = (file: string): string => file.replace(/(\.jsonl)?$/, '.previous.jsonl');

export class FileSpanExporter implements SpanExporter {
  private stopped = false;
  private written: number;

  constructor(
    private readonly file: string,
    private readonly service: string,
    private readonly maxBytes: number = DEFAULT_MAX_SPAN_FILE_BYTES,
  ) {
    mkdirSync(path.dirname(file), { recursive: true });
    try {
      this.written = statSync(file).size;
    } catch {
      this.written = 0;
    }
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.stopped) return resultCallback({ code: ExportResultCode.FAILED, error: new Error('exporter is shut down') });
    try {
      if (this.written >= this.maxBytes) {
        renameSync(this.file, previousSpanFile(this.file));
        this.written = 0;
      }
      const text = spans.map((s) => `${JSON.stringify(toSpanRecord(s, this.service))}\n`).join('');
      appendFileSync(this.file, text);
      this.written += Buffer.byteLength(text);
      resultCallback({ code: ExportResultCode.SUCCESS });
    } catch (error) {
      resultCallback({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
    }
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
  }

  async forceFlush(): Promise<void> {
    // Nothing buffered.
  }
}
