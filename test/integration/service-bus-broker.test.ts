/**
 * The test broker itself, driven by the plain `@azure/service-bus` client: the queue behaviours
 * other tests lean on (duplicate detection window, sessions required, scheduling, cancelling,
 * missing entities) hold as Service Bus documents them.
 */
import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAmqpBroker, type AmqpBroker } from '../support/amqp-broker.js';

const noRetries = { retryOptions: { maxRetries: 0, timeoutInMs: 5_000 } };

async function withSender<T>(
  broker: AmqpBroker,
  queue: string,
  use: (sender: ReturnType<ServiceBusClient['createSender']>) => Promise<T>,
): Promise<T> {
  const client = new ServiceBusClient(broker.connectionString(), noRetries);
  try {
    return await use(client.createSender(queue));
  } finally {
    await client.close();
  }
}

describe('test broker', () => {
  let clock = new Date('2030-01-01T00:00:00.000Z');
  let broker: AmqpBroker;
  beforeAll(async () => {
    broker = await startAmqpBroker({
      duplicateDetectionWindowMs: 60_000,
      queues: ['jobs', 'window', 'cancel'],
      now: () => clock,
    });
  });
  afterAll(async () => {
    await broker.close();
  });

  it('drops a MessageId seen within the window and accepts it again after the window', async () => {
    await withSender(broker, 'window', async (sender) => {
      const message = { body: { n: 1 }, messageId: 'same', sessionId: 's' };
      await sender.sendMessages(message);
      clock = new Date(clock.getTime() + 59_999);
      await sender.sendMessages(message);
      expect(broker.messages('window')).toHaveLength(1);
      clock = new Date(clock.getTime() + 1);
      await sender.sendMessages(message);
    });
    expect(broker.messages('window').map((m) => m.sequenceNumber)).toEqual([1, 3]);
    expect(broker.stats('window').duplicatesDropped).toBe(1);
  });

  it('refuses a message without a SessionId on a session queue', async () => {
    await expect(
      withSender(broker, 'jobs', (sender) => sender.sendMessages({ body: 'x', messageId: 'no-session' })),
    ).rejects.toThrow(/SessionId was not set/);
    expect(broker.messages('jobs')).toHaveLength(0);
  });

  it('schedules and cancels by sequence number, and drops a duplicate schedule', async () => {
    const at = new Date('2030-02-01T00:00:00.000Z');
    const [first, duplicate] = await withSender(broker, 'cancel', async (sender) => {
      const message = { body: 'later', messageId: 'later-1', sessionId: 's' };
      const sequenceNumbers = [
        ...(await sender.scheduleMessages(message, at)),
        ...(await sender.scheduleMessages(message, at)),
      ];
      await sender.cancelScheduledMessages(sequenceNumbers.slice(0, 1));
      return sequenceNumbers;
    });
    // Service Bus hands out a sequence number for the dropped duplicate too (Azure/azure-service-bus#265).
    expect(first?.toNumber()).toBe(1);
    expect(duplicate?.toNumber()).toBe(2);
    expect(broker.scheduled('cancel')).toHaveLength(0);
    expect(broker.stats('cancel').duplicatesDropped).toBe(1);
  });

  it('refuses a queue that does not exist', async () => {
    await expect(
      withSender(broker, 'missing', (sender) => sender.sendMessages({ body: 'x', sessionId: 's' })),
    ).rejects.toThrow(/could not be found/);
  });
});

describe('test broker without duplicate detection', () => {
  let broker: AmqpBroker;
  beforeAll(async () => {
    broker = await startAmqpBroker({ duplicateDetectionWindowMs: 0 });
  });
  afterAll(async () => {
    await broker.close();
  });

  it('keeps every copy of a MessageId', async () => {
    await withSender(broker, 'plain', async (sender) => {
      await sender.sendMessages({ body: 1, messageId: 'same', sessionId: 's' });
      await sender.sendMessages({ body: 2, messageId: 'same', sessionId: 's' });
    });
    expect(broker.messages('plain').map((m) => m.body)).toEqual([Buffer.from('1'), Buffer.from('2')]);
  });
});
