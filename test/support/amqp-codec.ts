/**
 * Decoding what `@azure/service-bus` puts on the wire into the test broker's `BrokerMessage`
 * shape. Wire facts are from the SDK's source (7.9): a batch is one transfer with message format
 * 0x80013700 whose body is one data section per encoded message; a scheduled message is an
 * encoded message inside the `com.microsoft:schedule-message` request, its enqueue time in the
 * `x-opt-scheduled-enqueue-time` message annotation.
 */
import rhea from 'rhea';
import type { IncomingMessage } from './amqp-queues.js';

/** Message format of a Service Bus batch (the SDK's `sendBatch`). */
export const BATCH_MESSAGE_FORMAT = 0x80013700;

const DATA_SECTION = 0x75;
const SEQUENCE_SECTION = 0x76;

/** The parts of a decoded AMQP message the broker reads (rhea's `Message`, loosely typed). */
export interface WireMessage {
  message_id?: string | number | Buffer | null;
  correlation_id?: string | number | Buffer | null;
  group_id?: string | null;
  content_type?: string | null;
  subject?: string | null;
  message_annotations?: Record<string, unknown> | null;
  application_properties?: Record<string, unknown> | null;
  body?: unknown;
  [field: string]: unknown;
}

function decodeMessage(bytes: Buffer): WireMessage {
  return rhea.message.decode(bytes);
}

/** rhea's decoded body section (data or amqp-sequence); an amqp-value body is the bare value. */
interface BodySection {
  typecode: number;
  content: unknown;
  multiple?: boolean;
}

function isBodySection(body: unknown): body is BodySection {
  return (
    typeof body === 'object' &&
    body !== null &&
    body.constructor.name === 'Section' &&
    'typecode' in body &&
    'content' in body
  );
}

/** The messages carried by one transfer: one for format 0, the batch's contents otherwise. */
export function decodeTransfer(format: number, payload: unknown): IncomingMessage[] {
  // rhea decodes a format-0 transfer itself and hands over the raw bytes for any other format.
  if (format === 0 && typeof payload === 'object' && payload !== null && !Buffer.isBuffer(payload)) {
    return [toIncoming(payload as WireMessage)];
  }
  if (format !== BATCH_MESSAGE_FORMAT || !Buffer.isBuffer(payload)) {
    throw new Error(`unsupported message format 0x${format.toString(16)}`);
  }
  const envelope = decodeMessage(payload);
  const body: unknown = envelope.body;
  if (!isBodySection(body) || body.typecode !== DATA_SECTION) {
    throw new Error('a batch must carry its messages as data sections');
  }
  const parts = body.multiple ? (body.content as unknown[]) : [body.content];
  return parts.map((part) => {
    if (!Buffer.isBuffer(part)) throw new Error('a batch data section is not binary');
    return toIncoming(decodeMessage(part));
  });
}

/** One decoded AMQP message in the broker's terms. */
export function toIncoming(message: WireMessage): IncomingMessage {
  const scheduled = message.message_annotations?.['x-opt-scheduled-enqueue-time'];
  const { body, bodyType } = unwrapBody(message.body);
  return {
    messageId: idToString(message.message_id),
    sessionId: message.group_id ?? undefined,
    correlationId: idToString(message.correlation_id),
    contentType: message.content_type ?? undefined,
    subject: message.subject ?? undefined,
    applicationProperties: { ...message.application_properties },
    body,
    bodyType,
    scheduledEnqueueTime: scheduled instanceof Date ? scheduled : undefined,
  };
}

function unwrapBody(body: unknown): { body: unknown; bodyType: IncomingMessage['bodyType'] } {
  if (!isBodySection(body)) return { body, bodyType: 'value' };
  if (body.typecode === DATA_SECTION) {
    // Several data sections form one binary body.
    const content = body.multiple ? Buffer.concat(body.content as Buffer[]) : body.content;
    return { body: content, bodyType: 'data' };
  }
  if (body.typecode === SEQUENCE_SECTION) return { body: body.content, bodyType: 'sequence' };
  return { body: body.content, bodyType: 'value' };
}

function idToString(id: string | number | Buffer | undefined | null): string | undefined {
  if (id === undefined || id === null) return undefined;
  return Buffer.isBuffer(id) ? id.toString('hex') : String(id);
}

/** One entry of a `com.microsoft:schedule-message` request's `messages` list. */
export function decodeScheduledEntry(entry: unknown): IncomingMessage {
  if (
    typeof entry !== 'object' ||
    entry === null ||
    !('message' in entry) ||
    !Buffer.isBuffer(entry.message)
  ) {
    throw new Error('each scheduled entry needs a binary "message"');
  }
  return toIncoming(decodeMessage(entry.message));
}

/** Sequence numbers as the SDK encodes them for cancel: longs, as numbers or 8 big-endian bytes. */
export function toSequenceNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (Buffer.isBuffer(value) && value.length === 8) return Number(value.readBigInt64BE(0));
  throw new Error('a sequence number must be a long');
}
