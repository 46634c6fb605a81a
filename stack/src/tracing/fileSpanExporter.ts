// A span exporter that appends each finished span as one JSON line to a file: the local stack's "collector", with no
// network and nothing to run. Writes are synchronous and unbuffered so a component killed with SIGKILL (as the chaos
// run and `stack.kill` do) loses no span it had finished; at most the line being written is torn, which the reader skips.
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { toSpanRecord } from './spanRecord';

export class FileSpanExporter implements SpanExporter {
  private stopped = false;

  constructor(
    private readonly file: string,
    private readonly service: string,
  ) {
    mkdirSync(path.dirname(file), { recursive: true });
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.stopped) return resultCallback({ code: ExportResultCode.FAILED, error: new Error('exporter is shut down') });
    try {
      appendFileSync(this.file, spans.map((s) => `${JSON.stringify(toSpanRecord(s, this.service))}\n`).join(''));
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
