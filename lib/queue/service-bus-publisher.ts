/**
 * The `JobPublisher` adapter on `@azure/service-bus`: one client and one sender for the app's
 * lifetime (STYLE.md principles 2 and 3). Every job becomes one message whose MessageId comes from
 * the source event (the queue's duplicate detection drops a second publish of the same event) and
 * whose SessionId is the user (one user's jobs never run concurrently).
 */
import {
  ServiceBusClient,
  type ServiceBusClientOptions,
  type ServiceBusMessage,
  type ServiceBusMessageBatch,
  type ServiceBusSender,
  type TokenCredential,
} from '@azure/service-bus';
import type { FunctionsConfig } from '../config.js';
import { jobMessageId, jobSessionId, type JobPublisher, type LicenseJob } from './job.js';

/** How to reach the namespace: managed identity in Azure, a connection string locally. */
export type ServiceBusConnection =
  { fullyQualifiedNamespace: string; credential: TokenCredential } | { connectionString: string };

export interface ServiceBusJobPublisherOptions {
  /** Passed to the `ServiceBusClient` (retry policy, custom endpoint, web sockets). */
  clientOptions?: ServiceBusClientOptions;
}

/** Turns a job into the message the worker's Service Bus trigger receives. */
export function toServiceBusMessage(job: LicenseJob): ServiceBusMessage {
  return {
    messageId: jobMessageId(job),
    sessionId: jobSessionId(job),
    contentType: 'application/json',
    subject: job.action,
    applicationProperties: {
      source: job.source,
      attempt: job.attempt,
      correlationId: job.correlationId,
    },
    body: job,
  };
}

export class ServiceBusJobPublisher implements JobPublisher {
  readonly #client: ServiceBusClient;
  readonly #sender: ServiceBusSender;
  readonly #queue: string;
  #closing: Promise<void> | undefined;

  constructor(connection: ServiceBusConnection, queue: string, options: ServiceBusJobPublisherOptions = {}) {
    this.#queue = queue;
    this.#client =
      'connectionString' in connection
        ? new ServiceBusClient(connection.connectionString, options.clientOptions)
        : new ServiceBusClient(
            connection.fullyQualifiedNamespace,
            connection.credential,
            options.clientOptions,
          );
    // Neither call opens a connection: the AMQP link is attached on the first send.
    this.#sender = this.#client.createSender(queue);
  }

  /**
   * Builds the publisher from `config.serviceBus`: the namespace with the managed identity when a
   * credential is given, else the connection string (local development; it carries a key).
   */
  static fromConfig(
    config: FunctionsConfig['serviceBus'],
    credential?: TokenCredential,
    options: ServiceBusJobPublisherOptions = {},
  ): ServiceBusJobPublisher {
    if (config.fullyQualifiedNamespace && credential) {
      return new ServiceBusJobPublisher(
        { fullyQualifiedNamespace: config.fullyQualifiedNamespace, credential },
        config.queue,
        options,
      );
    }
    if (config.connectionString) {
      return new ServiceBusJobPublisher({ connectionString: config.connectionString }, config.queue, options);
    }
    throw new Error(
      config.fullyQualifiedNamespace
        ? `Service Bus namespace ${config.fullyQualifiedNamespace} needs a credential (the managed identity); none was given.`
        : 'Service Bus is not configured: set ServiceBusConnection__fullyQualifiedNamespace (or ServiceBusConnection, a connection string, locally).',
    );
  }

  /**
   * Sends the jobs in as few batches as fit the link's maximum message size (256 KiB on the
   * Standard tier: about 350 intake jobs), the batches at the same time over the one link, so a
   * 1,000-job intake batch costs one round trip rather than three in a row. If a batch fails,
   * others may already be on the queue; the caller retries all of them and duplicate detection
   * drops the ones that made it.
   */
  async publish(jobs: LicenseJob[]): Promise<void> {
    if (jobs.length === 0) return;
    try {
      const batches: ServiceBusMessageBatch[] = [];
      let batch = await this.#sender.createMessageBatch();
      for (const job of jobs) {
        if (batch.tryAddMessage(toServiceBusMessage(job))) continue;
        if (batch.count === 0) {
          throw new Error(
            `job ${job.jobId} is larger than the largest message the queue accepts (${batch.maxSizeInBytes} bytes)`,
          );
        }
        batches.push(batch);
        batch = await this.#sender.createMessageBatch();
        if (!batch.tryAddMessage(toServiceBusMessage(job))) {
          throw new Error(
            `job ${job.jobId} is larger than the largest message the queue accepts (${batch.maxSizeInBytes} bytes)`,
          );
        }
      }
      batches.push(batch);
      await Promise.all(batches.map((b) => this.#send(b)));
    } catch (cause) {
      throw new Error(`could not publish ${describeJobs(jobs)} to Service Bus queue '${this.#queue}'`, {
        cause,
      });
    }
  }

  /** Schedules a copy that becomes visible at `at`; the caller has already bumped `attempt`. */
  async schedule(job: LicenseJob, at: Date): Promise<void> {
    try {
      await this.#sender.scheduleMessages(toServiceBusMessage(job), at);
    } catch (cause) {
      throw new Error(
        `could not schedule job ${job.jobId} (attempt ${job.attempt}) for ${at.toISOString()} on Service Bus queue '${this.#queue}'`,
        { cause },
      );
    }
  }

  /** Closes the sender and the connection; safe to call more than once. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.#sender.close();
      } finally {
        await this.#client.close();
      }
    })();
    return this.#closing;
  }

  async #send(batch: ServiceBusMessageBatch): Promise<void> {
    if (batch.count > 0) await this.#sender.sendMessages(batch);
  }
}

function describeJobs(jobs: LicenseJob[]): string {
  const [first] = jobs;
  if (jobs.length === 1 && first) return `job ${first.jobId}`;
  return `${jobs.length} jobs`;
}
