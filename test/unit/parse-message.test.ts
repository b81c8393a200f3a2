import { describe, expect, it } from 'vitest';
import { licenseJobSchema, type LicenseJob } from '../../lib/queue/job.js';
import { parseJobMessage } from '../../lib/queue/parse-message.js';

const wire = {
  version: 1,
  jobId: 'job-1',
  correlationId: 'corr-1',
  source: 'hr',
  eventId: 'msg_1',
  action: 'leave',
  user: { employeeId: 'E123' },
  attempt: 2,
  acceptedAt: '2025-01-02T03:04:05.000Z',
  notBefore: '2025-01-09T03:04:05.000Z',
};
const expected: LicenseJob = licenseJobSchema.parse(wire);

function failure(result: ReturnType<typeof parseJobMessage>) {
  if (result.ok) throw new Error('expected the message to be refused');
  return result;
}

describe('parseJobMessage', () => {
  it('accepts an already parsed object', () => {
    expect(parseJobMessage(wire)).toEqual({ ok: true, job: expected });
  });

  it('accepts a JSON string', () => {
    expect(parseJobMessage(JSON.stringify(wire))).toEqual({ ok: true, job: expected });
  });

  it('accepts a Buffer and a plain Uint8Array of UTF-8 JSON', () => {
    const bytes = Buffer.from(JSON.stringify(wire), 'utf8');
    expect(parseJobMessage(bytes)).toEqual({ ok: true, job: expected });
    expect(parseJobMessage(new Uint8Array(bytes))).toEqual({ ok: true, job: expected });
  });

  it('decodes only the bytes a Uint8Array view covers', () => {
    const json = Buffer.from(JSON.stringify(wire));
    const padded = Buffer.concat([Buffer.from('xxxx'), json, Buffer.from('yyyy')]);
    const view = new Uint8Array(padded.buffer, padded.byteOffset + 4, json.length);
    expect(parseJobMessage(view)).toEqual({ ok: true, job: expected });
  });

  it('accepts JSON with a byte order mark', () => {
    expect(parseJobMessage(`\uFEFF${JSON.stringify(wire)}`)).toEqual({ ok: true, job: expected });
  });

  it('fills the attempt default when the sender left it out', () => {
    const { attempt: _attempt, ...withoutAttempt } = wire;
    const result = parseJobMessage(withoutAttempt);
    expect(result.ok && result.job.attempt).toBe(0);
  });

  it('refuses malformed JSON and returns what arrived', () => {
    const result = failure(parseJobMessage('{"version":1,'));
    expect(result.reason).toMatch(/^body is not valid JSON \(/);
    expect(result.payload).toBe('{"version":1,');
  });

  it('refuses bytes that are not UTF-8', () => {
    const result = failure(parseJobMessage(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])));
    expect(result.reason).toBe('body is not valid UTF-8');
  });

  it('refuses JSON that is not an object', () => {
    expect(failure(parseJobMessage('[1,2]')).reason).toBe('body is JSON an array, expected a JSON object');
    expect(failure(parseJobMessage('"text"')).reason).toBe('body is JSON a string, expected a JSON object');
    expect(failure(parseJobMessage(null)).reason).toBe('body is null, expected a JSON object');
    expect(failure(parseJobMessage(42)).reason).toBe('body is a number, expected a JSON object');
  });

  it('names the field that breaks the schema', () => {
    const result = failure(parseJobMessage({ ...wire, action: 'promote' }));
    expect(result.reason).toMatch(/^not a license job: action: /);
    expect(result.payload).toContain('"action":"promote"');
  });

  it('names a nested field and the missing user key', () => {
    expect(failure(parseJobMessage({ ...wire, user: { id: '' } })).reason).toMatch(/user\.id: /);
    expect(failure(parseJobMessage({ ...wire, user: {} })).reason).toMatch(
      /user: a job needs the user id, userPrincipalName or employeeId/,
    );
  });

  it('lists every broken field', () => {
    const { jobId: _jobId, ...rest } = wire;
    const reason = failure(parseJobMessage({ ...rest, version: 2 })).reason;
    expect(reason).toMatch(/version: /);
    expect(reason).toMatch(/jobId: /);
  });

  it('truncates an oversized payload and says how much was cut', () => {
    const big = JSON.stringify({ ...wire, version: 9, filler: 'x'.repeat(10_000) });
    const result = failure(parseJobMessage(big));
    expect(result.payload.startsWith(big.slice(0, 1_024))).toBe(true);
    expect(result.payload).toBe(`${big.slice(0, 1_024)}… (${big.length - 1_024} more characters)`);
  });

  it('truncates to the configured length without splitting a surrogate pair', () => {
    const result = failure(parseJobMessage('a😀bcdef', { maxPayloadChars: 2 }));
    expect(result.payload).toBe('a… (7 more characters)');
  });

  it('returns an object payload as JSON text', () => {
    const result = failure(parseJobMessage({ hello: 'world' }));
    expect(result.payload).toBe('{"hello":"world"}');
  });
});
