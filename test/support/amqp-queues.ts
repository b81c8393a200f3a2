/**
 * The test broker's queues: what a Service Bus queue does with a message it is given, without the
 * AMQP around it. Mirrors a queue created with `requiresSession` and `requiresDuplicateDetection`
 * (infra/main.bicep turns both on for the license-jobs queue, with a PT10M window); the behaviours
 * below are taken from Microsoft's documentation and issue threads.
 */
import type { AmqpError } from 'rhea';

/** A message as the broker holds it, decoded. */
export interface BrokerMessage {
  readonly queue: string;
  /** Per queue, from 1, in the order the broker accepted messages (sent or scheduled). */
  readonly sequenceNumber: number;
  readonly messageId: string | undefined;
  readonly sessionId: string | undefined;
  readonly correlationId: string | undefined;
  readonly contentType: string | undefined;
  readonly subject: string | undefined;
  readonly applicationProperties: Readonly<Record<string, unknown>>;
  /** A data section arrives as a Buffer (what `@azure/service-bus` sends for a JSON body). */
  readonly body: unknown;
  readonly bodyType: 'data' | 'value' | 'sequence';
  /** Set for scheduled messages: when the message becomes visible. */
  readonly scheduledEnqueueTime: Date | undefined;
  /** The broker's clock when it accepted the message. */
  readonly enqueuedTime: Date;
}

export type IncomingMessage = Omit<BrokerMessage, 'queue' | 'sequenceNumber' | 'enqueuedTime'>;

export type EnqueueResult =
  | {
      outcome: 'accepted';
      /** One per message, in order. A duplicate is accepted and dropped, as Service Bus does. */
      entries: Array<{ sequenceNumber: number; duplicate: boolean }>;
    }
  | { outcome: 'rejected'; error: AmqpError };

export interface QueueRules {
  /**
   * Duplicate detection history window in ms; 0 turns duplicate detection off (a queue created
   * without `requiresDuplicateDetection`). Service Bus defaults to 10 minutes and allows 20 s to
   * 7 days (learn.microsoft.com/azure/service-bus-messaging/duplicate-detection).
   */
  duplicateDetectionWindowMs: number;
  /** The queue was created with `requiresSession`: a message without a SessionId is refused. */
  requiresSession: boolean;
  now: () => Date;
}

interface QueueState {
  nextSequenceNumber: number;
  active: BrokerMessage[];
  scheduled: BrokerMessage[];
  /** MessageId -> when it was first seen. */
  history: Map<string, number>;
  duplicatesDropped: number;
}

export class BrokerQueues {
  readonly #rules: QueueRules;
  readonly #queues = new Map<string, QueueState>();

  constructor(rules: QueueRules) {
    this.#rules = rules;
  }

  /**
   * Takes a sent or scheduled message. Duplicate detection: a MessageId seen within the window
   * is "reported as accepted (the send operation succeeds), but the newly sent message is
   * instantly ignored and dropped. No other parts of the message other than the MessageId are
   * considered" (duplicate-detection doc). The history is a fixed window from the first sight,
   * not reset when the message is received (Azure/azure-service-bus#243). Scheduling counts as
   * sending: a second schedule of the same MessageId within the window gets its own sequence
   * number and is dropped (Azure/azure-service-bus#265).
   */
  enqueue(queue: string, batch: readonly IncomingMessage[]): EnqueueResult {
    const state = this.#state(queue);
    // A batch is all or nothing: check every message before taking any.
    if (this.#rules.requiresSession && batch.some((m) => !m.sessionId)) {
      // Text of the InvalidOperationException the .NET client reports; the AMQP condition is a guess.
      return {
        outcome: 'rejected',
        error: {
          condition: 'amqp:not-allowed',
          description:
            'The SessionId was not set on a message, and it cannot be sent to the entity. Entities that have session support enabled can only receive messages that have the SessionId set to a valid value.',
        },
      };
    }
    const now = this.#rules.now();
    const window = this.#rules.duplicateDetectionWindowMs;
    const entries = batch.map((incoming) => {
      const sequenceNumber = state.nextSequenceNumber++;
      if (window > 0 && incoming.messageId !== undefined) {
        const seenAt = state.history.get(incoming.messageId);
        if (seenAt !== undefined && now.getTime() - seenAt < window) {
          state.duplicatesDropped++;
          return { sequenceNumber, duplicate: true };
        }
        state.history.set(incoming.messageId, now.getTime());
      }
      const message: BrokerMessage = { ...incoming, queue, sequenceNumber, enqueuedTime: now };
      (message.scheduledEnqueueTime ? state.scheduled : state.active).push(message);
      return { sequenceNumber, duplicate: false };
    });
    return { outcome: 'accepted', entries };
  }

  /** Removes scheduled messages by sequence number; unknown numbers are ignored. */
  cancelScheduled(queue: string, sequenceNumbers: readonly number[]): number {
    const state = this.#state(queue);
    const before = state.scheduled.length;
    state.scheduled = state.scheduled.filter((m) => !sequenceNumbers.includes(m.sequenceNumber));
    return before - state.scheduled.length;
  }

  /** Makes scheduled messages due at or before `until` visible, in enqueue-time order. */
  releaseScheduled(queue: string, until: Date): number {
    const state = this.#state(queue);
    const due = state.scheduled
      .filter((m) => (m.scheduledEnqueueTime?.getTime() ?? 0) <= until.getTime())
      .sort((a, b) => (a.scheduledEnqueueTime?.getTime() ?? 0) - (b.scheduledEnqueueTime?.getTime() ?? 0));
    state.scheduled = state.scheduled.filter((m) => !due.includes(m));
    state.active.push(...due);
    return due.length;
  }

  active(queue: string): BrokerMessage[] {
    return [...this.#state(queue).active];
  }

  scheduled(queue: string): BrokerMessage[] {
    return [...this.#state(queue).scheduled];
  }

  duplicatesDropped(queue: string): number {
    return this.#state(queue).duplicatesDropped;
  }

  #state(queue: string): QueueState {
    let state = this.#queues.get(queue);
    if (!state) {
      state = { nextSequenceNumber: 1, active: [], scheduled: [], history: new Map(), duplicatesDropped: 0 };
      this.#queues.set(queue, state);
    }
    return state;
  }
}
