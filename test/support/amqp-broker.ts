/**
 * An AMQP 1.0 broker on loopback, built on rhea, that speaks enough of Service Bus for the real
 * `@azure/service-bus` sender to run against it in tests: connect, authorize, send, schedule.
 *
 * What the SDK (7.9, with @azure/core-amqp 4) does, and what this broker answers:
 * - A connection string with `UseDevelopmentEmulator=true` makes the SDK use plain TCP; the port
 *   comes from the Endpoint (`sb://127.0.0.1:PORT`), defaulting to 5672 only when none is given.
 * - SASL ANONYMOUS (the key name goes as the SASL identity); rhea's server accepts it.
 * - Claims-based security: before attaching a link the SDK sends a `put-token` request to `$cbs`
 *   (application properties `operation`, `name` = audience `sb://host:port/<entity>`, `type`;
 *   body = the SAS token) and waits for a reply whose `correlation_id` is the request's
 *   `message_id` and whose `status-code` is 2xx. The broker checks the signature against its key
 *   (401 otherwise) and refuses links to entities the connection holds no token for.
 * - Sending: a sender link targets the queue; a single message is a format-0 transfer, a batch is
 *   one transfer of format 0x80013700. The broker settles each transfer `accepted` or
 *   `rejected` with an AMQP error.
 * - Scheduling and cancelling go to `<queue>/$management` as request/response messages
 *   (`operation` `com.microsoft:schedule-message` with body `{ messages: [{ message, message-id,
 *   session-id }] }`, answered with `{ sequence-numbers: long[] }`;
 *   `com.microsoft:cancel-scheduled-message` with `{ sequence-numbers }`). Replies go to the link
 *   named by the request's `reply_to`.
 * - A rejected transfer fails the send at once (the SDK retries retryable conditions such as
 *   `com.microsoft:server-busy`); a link detached under an in-flight send fails it only at the
 *   SDK's operation timeout (`retryOptions.timeoutInMs`).
 *
 * Not served: receivers (messages are read with `messages(queue)`), sessions' state, peeking,
 * settlement, topics, TLS and Entra ID tokens.
 *
 * Queue behaviour (sessions required, duplicate detection by MessageId) is in amqp-queues.ts.
 */
import type { AddressInfo, Socket } from 'node:net';
import rhea, { type AmqpError, type Connection, type Delivery, type EventContext, type Message } from 'rhea';
import { decodeScheduledEntry, decodeTransfer, toSequenceNumber } from './amqp-codec.js';
import { BrokerQueues, type BrokerMessage, type IncomingMessage } from './amqp-queues.js';
import { verifySasToken } from './amqp-sas.js';

export type { BrokerMessage } from './amqp-queues.js';

export interface AmqpBrokerOptions {
  /**
   * Duplicate detection window in ms, mirroring the queue's `requiresDuplicateDetection` with its
   * `duplicateDetectionHistoryTimeWindow` (default 10 minutes, as in infra/main.bicep); 0 turns it off.
   */
  duplicateDetectionWindowMs?: number;
  /** Mirrors `requiresSession` (default true): messages without a SessionId are refused. */
  requiresSession?: boolean;
  /** Offered on each link as `max-message-size` (default 262,144 bytes, the Standard tier limit). */
  maxMessageSizeBytes?: number;
  /** When given, only these queues exist; attaching to another is refused with `amqp:not-found`. */
  queues?: readonly string[];
  /**
   * The queues' clock (duplicate detection window, enqueued time). Token expiry is checked against
   * the system clock, which the SDK signs with.
   */
  now?: () => Date;
  /** The shared access key the broker accepts (the connection string carries it). */
  keyName?: string;
  key?: string;
}

export interface InjectedFailure {
  /** AMQP error condition (default `com.microsoft:server-busy`, which the SDK retries). */
  condition?: string;
  description?: string;
  /** `reject` settles the transfer as rejected (default); `detach` closes the sender link with the error. */
  mode?: 'reject' | 'detach';
}

export interface BrokerStats {
  /** Transfers that reached the queue (a batch counts once), including failed ones. */
  transfers: number;
  /** Messages accepted and dropped by duplicate detection. */
  duplicatesDropped: number;
  /** Sends and schedule requests failed by `failNextSends`. */
  injectedFailures: number;
}

export interface AmqpBroker {
  readonly port: number;
  /** A connection string the SDK accepts; with a queue, it carries `EntityPath`. */
  connectionString(queue?: string): string;
  /** Messages visible on the queue, in sequence-number order. */
  messages(queue: string): BrokerMessage[];
  /** Scheduled messages not yet visible. */
  scheduled(queue: string): BrokerMessage[];
  /** Moves scheduled messages due at or before `until` into `messages` (time never passes by itself). */
  releaseScheduled(queue: string, until: Date): number;
  /**
   * Fails the next `n` attempts to put a message on any queue (a transfer, or a schedule request
   * answered 503), as when the namespace is unavailable. The SDK retries retryable conditions, so
   * `n` must exceed the client's `maxRetries` for the caller to see the failure.
   */
  failNextSends(n: number, failure?: InjectedFailure): void;
  stats(queue: string): BrokerStats;
  close(): Promise<void>;
}

const CBS = '$cbs';
const MANAGEMENT_SUFFIX = '/$management';
const SAS_TOKEN_TYPE = 'servicebus.windows.net:sastoken';

interface Reply {
  status: number;
  description: string;
  condition?: string;
  body?: unknown;
}

export async function startAmqpBroker(options: AmqpBrokerOptions = {}): Promise<AmqpBroker> {
  const now = options.now ?? (() => new Date());
  const keyName = options.keyName ?? 'RootManageSharedAccessKey';
  const key = options.key ?? 'test-broker-key';
  const queues = new BrokerQueues({
    duplicateDetectionWindowMs: options.duplicateDetectionWindowMs ?? 10 * 60_000,
    requiresSession: options.requiresSession ?? true,
    now,
  });
  const knownQueues = options.queues ? new Set(options.queues) : undefined;
  const transfers = new Map<string, number>();
  const injected = new Map<string, number>();
  let pendingFailures = 0;
  let failure: InjectedFailure = {};
  /** Audiences each connection has presented a valid token for. */
  const claims = new WeakMap<Connection, Set<string>>();
  const sockets = new Set<Socket>();

  const container = rhea.create_container({ id: 'ems-licensing-test-broker' });
  const server = container.listen({
    host: '127.0.0.1',
    port: 0,
    receiver_options: { autoaccept: false, max_message_size: options.maxMessageSizeBytes ?? 262_144 },
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  /** The SDK's token audiences are this plus the entity path. */
  const endpoint = `sb://127.0.0.1:${port}/`;

  const count = (map: Map<string, number>, queue: string) => map.set(queue, (map.get(queue) ?? 0) + 1);

  const takeFailure = (queue: string): AmqpError | undefined => {
    if (pendingFailures <= 0) return undefined;
    pendingFailures--;
    count(injected, queue);
    return {
      condition: failure.condition ?? 'com.microsoft:server-busy',
      description:
        failure.description ??
        'The namespace is unavailable (failure injected by the test broker). Retry later.',
    };
  };

  const isAuthorized = (connection: Connection, address: string) => {
    const held = claims.get(connection);
    return held !== undefined && (held.has(endpoint) || held.has(`${endpoint}${address}`));
  };

  const entityError = (connection: Connection, address: string): AmqpError | undefined => {
    const entity = address.endsWith(MANAGEMENT_SUFFIX)
      ? address.slice(0, -MANAGEMENT_SUFFIX.length)
      : address;
    if (!entity || (knownQueues && !knownQueues.has(entity))) {
      return {
        condition: 'amqp:not-found',
        description: `The messaging entity '${endpoint}${entity}' could not be found.`,
      };
    }
    if (!isAuthorized(connection, address)) {
      return {
        condition: 'amqp:unauthorized-access',
        description: `Unauthorized access: no valid token was put to $cbs for '${endpoint}${address}'.`,
      };
    }
    return undefined;
  };

  const reply = (connection: Connection, request: Message, answer: Reply) => {
    const replyTo = request.reply_to;
    const sender = connection.find_sender(
      (s: { name: string; target?: { address?: string } }) =>
        s.name === replyTo || s.target?.address === replyTo,
    );
    if (!sender) return;
    sender.send({
      ...(request.message_id !== undefined ? { correlation_id: request.message_id } : {}),
      ...(replyTo ? { to: replyTo } : {}),
      application_properties: {
        'status-code': answer.status,
        'status-description': answer.description,
        ...(answer.condition ? { 'error-condition': answer.condition } : {}),
      },
      body: answer.body ?? null,
    });
  };

  const putToken = (connection: Connection, request: Message): Reply => {
    const props = (request.application_properties ?? {}) as Record<string, unknown>;
    if (props.operation !== 'put-token') {
      return { status: 400, description: `unsupported $cbs operation '${String(props.operation)}'` };
    }
    if (props.type !== SAS_TOKEN_TYPE || typeof props.name !== 'string') {
      return { status: 401, description: 'the test broker accepts only shared access signatures' };
    }
    const check = verifySasToken(request.body, { keyName, key, audience: props.name, now: new Date() });
    if (!check.ok) return { status: 401, description: `InvalidSignature: ${check.reason}` };
    let held = claims.get(connection);
    if (!held) claims.set(connection, (held = new Set()));
    held.add(check.audience);
    return { status: 202, description: 'Accepted' };
  };

  const manage = (queue: string, request: Message): Reply => {
    const props = (request.application_properties ?? {}) as Record<string, unknown>;
    const body = (request.body ?? {}) as Record<string, unknown>;
    switch (props.operation) {
      case 'com.microsoft:schedule-message': {
        const error = takeFailure(queue);
        if (error)
          return { status: 503, description: error.description ?? '', condition: error.condition ?? '' };
        let incoming: IncomingMessage[];
        try {
          if (!Array.isArray(body.messages)) throw new Error('the request body needs a "messages" list');
          incoming = body.messages.map(decodeScheduledEntry);
          if (incoming.some((m) => !m.scheduledEnqueueTime)) {
            throw new Error('a scheduled message needs x-opt-scheduled-enqueue-time');
          }
        } catch (e) {
          return { status: 400, description: (e as Error).message, condition: 'amqp:decode-error' };
        }
        const result = queues.enqueue(queue, incoming);
        if (result.outcome === 'rejected') {
          return {
            status: 400,
            description: result.error.description ?? '',
            condition: result.error.condition ?? '',
          };
        }
        return {
          status: 200,
          description: 'OK',
          body: {
            'sequence-numbers': rhea.types.wrap_array(
              result.entries.map((e) => e.sequenceNumber),
              0x81,
              undefined,
            ),
          },
        };
      }
      case 'com.microsoft:cancel-scheduled-message': {
        const raw = body['sequence-numbers'];
        try {
          if (!Array.isArray(raw)) throw new Error('the request body needs "sequence-numbers"');
          queues.cancelScheduled(queue, raw.map(toSequenceNumber));
        } catch (e) {
          return { status: 400, description: (e as Error).message, condition: 'amqp:decode-error' };
        }
        return { status: 200, description: 'OK' };
      }
      default:
        return {
          status: 501,
          description: `the test broker does not implement '${String(props.operation)}'`,
          condition: 'amqp:not-implemented',
        };
    }
  };

  const receiveOnQueue = (context: EventContext, queue: string, delivery: Delivery) => {
    count(transfers, queue);
    const error = takeFailure(queue);
    if (error) {
      if (failure.mode === 'detach') context.receiver?.close(error);
      else delivery.reject(error);
      return;
    }
    let incoming: IncomingMessage[];
    try {
      incoming = decodeTransfer(delivery.format, context.message);
    } catch (e) {
      delivery.reject({ condition: 'amqp:decode-error', description: (e as Error).message });
      return;
    }
    const result = queues.enqueue(queue, incoming);
    if (result.outcome === 'rejected') delivery.reject(result.error);
    else delivery.accept();
  };

  // A client's sender attached: the broker receives on it.
  container.on('receiver_open', (context: EventContext) => {
    const receiver = context.receiver;
    if (!receiver) return;
    const target = receiver.target as { address?: string } | undefined;
    const address = target?.address ?? '';
    receiver.set_target({ address });
    if (address === CBS) return;
    const error = entityError(context.connection, address);
    if (error) receiver.close(error);
  });

  // A client's receiver attached: only reply links for $cbs and $management are served.
  container.on('sender_open', (context: EventContext) => {
    const sender = context.sender;
    if (!sender) return;
    const source = sender.source as { address?: string } | undefined;
    const address = source?.address ?? '';
    sender.set_source({ address });
    if (address === CBS) return;
    if (!address.endsWith(MANAGEMENT_SUFFIX)) {
      sender.close({
        condition: 'amqp:not-implemented',
        description: 'the test broker does not deliver messages; read them with broker.messages(queue)',
      });
      return;
    }
    const error = entityError(context.connection, address);
    if (error) sender.close(error);
  });

  container.on('message', (context: EventContext) => {
    const { receiver, delivery } = context;
    if (!receiver || !delivery) return;
    const target = receiver.target as { address?: string } | undefined;
    const address = target?.address ?? '';
    if (address === CBS || address.endsWith(MANAGEMENT_SUFFIX)) {
      delivery.accept();
      const request = context.message;
      if (!request) return;
      const answer =
        address === CBS
          ? putToken(context.connection, request)
          : manage(address.slice(0, -MANAGEMENT_SUFFIX.length), request);
      reply(context.connection, request, answer);
      return;
    }
    receiveOnQueue(context, address, delivery);
  });

  // Errors and disconnects a client causes must not bring the test process down.
  for (const event of ['error', 'disconnected', 'connection_error', 'protocol_error']) {
    container.on(event, () => undefined);
  }

  return {
    port,
    connectionString(queue?: string) {
      return [
        `Endpoint=${endpoint}`,
        `SharedAccessKeyName=${keyName}`,
        `SharedAccessKey=${key}`,
        'UseDevelopmentEmulator=true',
        ...(queue ? [`EntityPath=${queue}`] : []),
      ].join(';');
    },
    messages: (queue) => queues.active(queue),
    scheduled: (queue) => queues.scheduled(queue),
    releaseScheduled: (queue, until) => queues.releaseScheduled(queue, until),
    failNextSends(n, next = {}) {
      pendingFailures = n;
      failure = next;
    },
    stats: (queue) => ({
      transfers: transfers.get(queue) ?? 0,
      duplicatesDropped: queues.duplicatesDropped(queue),
      injectedFailures: injected.get(queue) ?? 0,
    }),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  };
}
