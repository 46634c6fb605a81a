// The cleanup job against recorded Dataverse responses, served by a real HTTP server on 127.0.0.1 (port 0).
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { OutboxStatus } from '@dataverse-outbox/contract';
import { DataverseClient, isDataverseError } from '@dataverse-outbox/web-api';
import {
  CLEANUP_JOB_NAME,
  cleanupBulkDeleteRequest,
  cleanupFetchXml,
  cleanupQueryExpression,
  finishedStatuses,
  nextDailyStart,
} from '../src/cleanup/definition';
import { scheduleCleanupJob } from '../src/cleanup/schedule';
import { solutionWorkspaceDir } from '../src/paths';

interface Recorded {
  method: string;
  url: string;
  authorization: string | undefined;
  body: unknown;
}

type Reply = (request: Recorded) => { status: number; body?: unknown };

/** A stand-in for the Dataverse Web API that replays recorded answers and records every request. */
async function startRecordedDataverse(reply: Reply): Promise<{ url: string; requests: Recorded[]; close: () => Promise<void> }> {
  const requests: Recorded[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const recorded: Recorded = { method: req.method ?? '', url: decodeURIComponent(req.url ?? ''), authorization: req.headers.authorization, body: text ? JSON.parse(text) : undefined };
      requests.push(recorded);
      const answer = reply(recorded);
      res.writeHead(answer.status, { 'Content-Type': 'application/json; odata.metadata=minimal', 'OData-Version': '4.0' });
      res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const SETTINGS_ANSWER = (retention: string | null, ackQueue: string | null) => ({
  value: [
    { schemaname: 'obx_RetentionDays', defaultvalue: '7', environmentvariabledefinition_environmentvariablevalue: retention === null ? [] : [{ value: retention }] },
    { schemaname: 'obx_AckQueue', defaultvalue: 'outbox-acks', environmentvariabledefinition_environmentvariablevalue: ackQueue === null ? [] : [{ value: ackQueue }] },
  ],
});

/** Recorded behaviour: settings, the existing jobs by name, BulkDelete creating a job, PATCH cancelling one. */
function dataverseWith(existingJobs: string[], settings = SETTINGS_ANSWER(null, null)): Reply {
  let created = 0;
  return (request) => {
    if (request.method === 'GET' && request.url.includes('/environmentvariabledefinitions?')) return { status: 200, body: settings };
    if (request.method === 'GET' && request.url.includes('/asyncoperations?')) {
      return { status: 200, body: { value: existingJobs.map((id) => ({ asyncoperationid: id, name: CLEANUP_JOB_NAME, statecode: 1, statuscode: 10 })) } };
    }
    if (request.method === 'POST' && request.url.endsWith('/BulkDelete')) {
      created += 1;
      return { status: 200, body: { JobId: `00000000-0000-4000-8000-00000000000${created}` } };
    }
    if (request.method === 'PATCH' && request.url.includes('/asyncoperations(')) return { status: 204 };
    return { status: 404, body: { error: { code: '0x80060888', message: `Resource not found for the segment ${request.url}` } } };
  };
}

describe('cleanup job definition', () => {
  it('deletes Acked and Cancelled rows, and Published rows only when acknowledgements are off', () => {
    expect(finishedStatuses({ acksEnabled: true })).toEqual([OutboxStatus.Acked, OutboxStatus.Cancelled]);
    expect(finishedStatuses({ acksEnabled: false })).toEqual([OutboxStatus.Published, OutboxStatus.Acked, OutboxStatus.Cancelled]);
    for (const statuses of [finishedStatuses({ acksEnabled: true }), finishedStatuses({ acksEnabled: false })]) {
      expect(statuses).not.toContain(OutboxStatus.Pending);
      expect(statuses).not.toContain(OutboxStatus.Failed);
      expect(statuses).not.toContain(OutboxStatus.DeadLettered);
    }
  });

  it('says the same thing as FetchXML and as QueryExpression JSON', () => {
    const fetch = cleanupFetchXml({ retentionDays: 30, acksEnabled: true });
    expect(fetch).toContain('<condition attribute="modifiedon" operator="olderthan-x-days" value="30" />');
    expect(fetch).toContain('<value>612000002</value>');
    expect(fetch).not.toContain('<value>612000001</value>');
    expect(cleanupQueryExpression({ retentionDays: 30, acksEnabled: false }).Criteria.Conditions).toEqual([
      { AttributeName: 'modifiedon', Operator: 'OlderThanXDays', Values: [{ Type: 'System.Int32', Value: '30' }] },
      { AttributeName: 'obx_status', Operator: 'In', Values: ['612000001', '612000002', '612000005'].map((Value) => ({ Type: 'System.Int32', Value })) },
    ]);
    expect(() => cleanupFetchXml({ retentionDays: 0, acksEnabled: true })).toThrow(/1 to 3650/);
  });

  it('starts at the next 02:00 UTC', () => {
    expect(nextDailyStart(new Date('2026-11-27T01:59:00Z')).toISOString()).toBe('2026-11-27T02:00:00.000Z');
    expect(nextDailyStart(new Date('2026-11-27T02:00:00Z')).toISOString()).toBe('2026-11-28T02:00:00.000Z');
  });
});

describe('scheduling the cleanup job over the Web API (recorded requests)', () => {
  const start = new Date('2026-12-01T02:00:00Z');

  it('reads the settings, finds no job, and creates a daily BulkDelete job', async () => {
    const server = await startRecordedDataverse(dataverseWith([], SETTINGS_ANSWER('14', '')));
    try {
      const result = await scheduleCleanupJob({ client: new DataverseClient(server.url, { token: 'test-token' }), startDateTime: start });
      expect(result).toMatchObject({ jobId: '00000000-0000-4000-8000-000000000001', replacedJobIds: [], settings: { retentionDays: 14, acksEnabled: false } });
      expect(server.requests.map((r) => `${r.method} ${r.url.split('?')[0] ?? ''}`)).toEqual([
        'GET /api/data/v9.2/environmentvariabledefinitions',
        'GET /api/data/v9.2/asyncoperations',
        'POST /api/data/v9.2/BulkDelete',
      ]);
      expect(server.requests.every((r) => r.authorization === 'Bearer test-token')).toBe(true);
      expect(server.requests[0]?.url).toContain("$filter=schemaname eq 'obx_RetentionDays' or schemaname eq 'obx_AckQueue'");
      expect(server.requests[0]?.url).toContain('$expand=environmentvariabledefinition_environmentvariablevalue($select=value)');
      expect(server.requests[1]?.url).toContain(`$filter=name eq '${CLEANUP_JOB_NAME}' and operationtype eq 13 and statecode ne 3`);
      expect(server.requests[2]?.body).toEqual(cleanupBulkDeleteRequest({ retentionDays: 14, acksEnabled: false }, start));
      expect(server.requests[2]?.body).toMatchObject({ RecurrencePattern: 'FREQ=DAILY;INTERVAL=1;', StartDateTime: '2026-12-01T02:00:00.000Z', JobName: CLEANUP_JOB_NAME });
    } finally {
      await server.close();
    }
  });

  it('is safe to run again: creates the new job first, then cancels its own earlier job', async () => {
    const server = await startRecordedDataverse(dataverseWith(['aaaaaaaa-0000-4000-8000-000000000009']));
    try {
      const result = await scheduleCleanupJob({ client: new DataverseClient(server.url, { token: 't' }), startDateTime: start });
      expect(result.replacedJobIds).toEqual(['aaaaaaaa-0000-4000-8000-000000000009']);
      expect(result.settings).toEqual({ retentionDays: 7, acksEnabled: true });
      expect(server.requests.map((r) => `${r.method} ${r.url.split('?')[0] ?? ''}`)).toEqual([
        'GET /api/data/v9.2/environmentvariabledefinitions',
        'GET /api/data/v9.2/asyncoperations',
        'POST /api/data/v9.2/BulkDelete',
        'PATCH /api/data/v9.2/asyncoperations(aaaaaaaa-0000-4000-8000-000000000009)',
      ]);
      expect(server.requests[3]?.body).toEqual({ statecode: 3, statuscode: 32 });
    } finally {
      await server.close();
    }
  });

  it('uses explicit settings without reading them, and reports Dataverse errors with their message', async () => {
    const server = await startRecordedDataverse((request) =>
      request.url.includes('/BulkDelete')
        ? { status: 403, body: { error: { code: '0x80040220', message: 'Principal user is missing prvBulkDelete privilege' } } }
        : dataverseWith([])(request),
    );
    try {
      const failure = scheduleCleanupJob({ client: new DataverseClient(server.url, { token: 't' }), retentionDays: 3, acksEnabled: true, startDateTime: start });
      await expect(failure).rejects.toMatchObject({ code: 'Forbidden', statusCode: 403, dataverseCode: '0x80040220' });
      await failure.catch((error: unknown) => {
        expect(isDataverseError(error)).toBe(true);
        expect((error as Error).message).toContain('missing prvBulkDelete privilege');
        expect((error as Error).message).not.toContain('Bearer');
      });
      expect(server.requests.some((r) => r.url.includes('environmentvariabledefinitions'))).toBe(false);
    } finally {
      await server.close();
    }
  });

  it('runs as a command: npm run schedule-cleanup -- --url <env>, token from DATAVERSE_TOKEN', async () => {
    const server = await startRecordedDataverse(dataverseWith(['bbbbbbbb-0000-4000-8000-000000000001']));
    try {
      const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', 'src/cli/schedule-cleanup.ts', '--url', server.url, '--start', '2026-12-01T02:00:00Z'], {
        cwd: solutionWorkspaceDir,
        env: { ...process.env, DATAVERSE_TOKEN: 'cli-token' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(stdout).toContain('scheduled job 00000000-0000-4000-8000-000000000001, replaced bbbbbbbb-0000-4000-8000-000000000001');
      expect(stdout).not.toContain('cli-token');
      expect(server.requests.every((r) => r.authorization === 'Bearer cli-token')).toBe(true);
    } finally {
      await server.close();
    }
  });
});
