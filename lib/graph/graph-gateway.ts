/**
 * The real `GraphGateway`: Microsoft Graph v1.0 through @microsoft/microsoft-graph-client.
 *
 * Every response the app depends on is parsed with the zod schemas of ./types.ts; every failure
 * leaves as a `GraphError` (./error-mapping.ts). The caller's correlation id rides as
 * `client-request-id`. Logs carry operation, status and ids, never a token or a UPN.
 */
import { randomUUID } from 'node:crypto';
import type { Client, GraphRequest } from '@microsoft/microsoft-graph-client';
import type { BaseConfig } from '../config.js';
import { silentLogger, type Logger } from '../log.js';
import { isGuid } from '../shared/guid.js';
import { createGraphClient, graphBaseUrlOf } from './client.js';
import { createCredential } from './credential.js';
import { isWriteOutcomeUnknown, toGraphError } from './error-mapping.js';
import type { CallOptions, GraphGateway, NewSubscription } from './gateway.js';
import { GraphError, isGraphError } from './graph-error.js';
import { GraphPacer } from './pacer.js';
import { CLIENT_REQUEST_ID_HEADER } from './host-scoped-auth.js';
import type { GraphOperation } from './operations.js';
import { employeeIdFilter, resolveLink, segment, userPath } from './paths.js';
import {
  deltaEnvelopeSchema,
  deltaUserSchema,
  groupNameSchema,
  idListSchema,
  removedItemSchema,
  skuPageSchema,
  userPageSchema,
} from './response-schemas.js';
import type { RetryOptions } from './retry-middleware.js';
import {
  BASE_USER_SELECT,
  graphUserSchema,
  subscriptionSchema,
  type AssignLicenseBody,
  type DeltaPage,
  type GraphSubscription,
  type GraphUser,
  type SubscribedSku,
} from './types.js';

/**
 * Largest `$top` for /users: "$top … from 1 to 999" (learn.microsoft.com/graph/api/user-list,
 * optional query parameters; default page size 100). The largest page means the fewest requests.
 */
export const MAX_USER_PAGE_SIZE = 999;

/** checkMemberGroups accepts "up to a maximum of 20 groups per request" (learn.microsoft.com/graph/api/user-checkmembergroups). */
export const CHECK_MEMBER_GROUPS_MAX = 20;

/** What `createGraphGateway` needs: the Graph client, and optionally a logger and the link origin. */
export interface GraphGatewayOptions {
  /** A client from `createGraphClient` (its base URL is known) or any Graph client plus `baseUrl`. */
  client: Client;
  logger?: Logger;
  /** Origin that paging and delta links must point at; defaults to the client's base URL. */
  baseUrl?: string;
}

/**
 * Values allowed in one `in (...)` clause: "requests are limited to 15 expressions in the filter
 * clause" (learn.microsoft.com/graph/filter-query-parameter, known limitations of `in`).
 */
export const MAX_IN_FILTER_VALUES = 15;

/** Operations that change the directory: a failed one may still have been applied. */
const WRITE_OPERATIONS: ReadonlySet<GraphOperation> = new Set(['assignLicense', 'setUsageLocation']);

/** Selected properties: the caller's plus the ones the user schema and the planner always need. */
function userSelect(select: readonly string[]): string[] {
  return [...new Set<string>([...BASE_USER_SELECT, ...select])];
}

/** A user key safe to log: object ids as they are, anything else (a UPN) redacted. */
function loggableUser(idOrUpn: string): string {
  return isGuid(idOrUpn) ? idOrUpn : '[redacted]';
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

class GraphGatewayAdapter implements GraphGateway {
  readonly #client: Client;
  readonly #logger: Logger;
  readonly #baseUrl: string;

  constructor(options: GraphGatewayOptions) {
    this.#client = options.client;
    this.#logger = options.logger ?? silentLogger();
    this.#baseUrl = options.baseUrl ?? graphBaseUrlOf(options.client) ?? 'https://graph.microsoft.com';
  }

  /** A request with the call's client-request-id and AbortSignal. */
  #api(path: string, requestId: string, options: CallOptions | undefined): GraphRequest {
    let request = this.#client.api(path).header(CLIENT_REQUEST_ID_HEADER, requestId);
    if (options?.signal !== undefined) request = request.option('signal', options.signal);
    return request;
  }

  /** A request for an absolute `@odata.nextLink` / `@odata.deltaLink`. */
  #link(link: string, requestId: string, options: CallOptions | undefined): GraphRequest {
    const { version, pathAndQuery } = resolveLink(link, this.#baseUrl);
    return this.#api(pathAndQuery, requestId, options).version(version);
  }

  /**
   * Runs one Graph operation: picks the client-request-id (the correlation id when it is a GUID,
   * as Graph requires; a fresh one otherwise, logged next to the correlation id), maps failures to
   * `GraphError`, and logs the outcome.
   */
  async #run<T>(
    operation: GraphOperation,
    options: CallOptions | undefined,
    fields: Record<string, unknown>,
    body: (requestId: string, log: Logger) => Promise<T>,
  ): Promise<T> {
    const correlationId = options?.correlationId;
    const requestId = correlationId !== undefined && isGuid(correlationId) ? correlationId : randomUUID();
    const log = this.#logger.child({
      graphOperation: operation,
      clientRequestId: requestId,
      ...(correlationId !== undefined && correlationId !== requestId ? { correlationId } : {}),
      ...fields,
    });
    const started = Date.now();
    try {
      const result = await body(requestId, log);
      log.debug({ durationMs: Date.now() - started }, 'Graph call succeeded');
      return result;
    } catch (error) {
      let mapped = toGraphError(error, operation);
      if (WRITE_OPERATIONS.has(operation) && isWriteOutcomeUnknown(mapped))
        mapped = mapped.asOutcomeUnknown();
      const level = mapped.kind === 'notFound' ? 'debug' : 'warn';
      log[level](
        {
          durationMs: Date.now() - started,
          kind: mapped.kind,
          status: mapped.status,
          code: mapped.code,
          requestId: mapped.requestId,
          retryAfterMs: mapped.retryAfterMs,
          outcomeUnknown: mapped.outcomeUnknown,
          fix: mapped.fix,
        },
        `Graph call failed: ${mapped.message}`,
      );
      throw mapped;
    }
  }

  async *listUsers(
    select: readonly string[],
    options?: CallOptions & { pageSize?: number },
  ): AsyncIterable<GraphUser[]> {
    const pageSize = options?.pageSize ?? MAX_USER_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_USER_PAGE_SIZE) {
      throw new RangeError(`pageSize must be an integer from 1 to ${MAX_USER_PAGE_SIZE}, got ${pageSize}`);
    }
    let next: string | undefined;
    let pageNumber = 0;
    do {
      pageNumber++;
      const link = next;
      const page = await this.#run('listUsers', options, { page: pageNumber }, async (requestId) => {
        const request =
          link === undefined
            ? this.#api('/users', requestId, options).select(userSelect(select)).top(pageSize)
            : this.#link(link, requestId, options);
        return userPageSchema.parse(await request.get());
      });
      next = page['@odata.nextLink'];
      yield page.value;
    } while (next !== undefined);
  }

  async getUser(
    idOrUpn: string,
    select: readonly string[],
    options?: CallOptions,
  ): Promise<GraphUser | null> {
    try {
      return await this.#run('getUser', options, { user: loggableUser(idOrUpn) }, async (requestId) =>
        graphUserSchema.parse(
          await this.#api(userPath(idOrUpn), requestId, options).select(userSelect(select)).get(),
        ),
      );
    } catch (error) {
      if (isGraphError(error) && error.kind === 'notFound') return null;
      throw error;
    }
  }

  async getUsers(
    ids: readonly string[],
    select: readonly string[],
    options?: CallOptions,
  ): Promise<GraphUser[]> {
    const unique = [...new Set(ids)];
    for (const id of unique) {
      if (!isGuid(id)) throw new RangeError(`getUsers takes object ids only, got '${loggableUser(id)}'`);
    }
    const users: GraphUser[] = [];
    for (const chunk of chunks(unique, MAX_IN_FILTER_VALUES)) {
      // `id in (...)` is a default query on users (no ConsistencyLevel needed; user-list).
      const filter = `id in (${chunk.map((id) => `'${id}'`).join(',')})`;
      const page = await this.#run('getUsers', options, { users: chunk.length }, async (requestId) =>
        userPageSchema.parse(
          await this.#api('/users', requestId, options)
            .filter(filter)
            .select(userSelect(select))
            .top(chunk.length)
            .get(),
        ),
      );
      users.push(...page.value);
    }
    return users;
  }

  async findUserByEmployeeId(
    employeeId: string,
    select: readonly string[],
    options?: CallOptions,
  ): Promise<GraphUser | null> {
    // `eq` on employeeId is a default filter (no ConsistencyLevel: eventual / $count needed, per
    // learn.microsoft.com/graph/aad-advanced-queries); staying off the eventually consistent index
    // matters for a hire processed seconds after the account was synced.
    const page = await this.#run('findUserByEmployeeId', options, {}, async (requestId) =>
      userPageSchema.parse(
        await this.#api('/users', requestId, options)
          .filter(employeeIdFilter(employeeId))
          .select(userSelect(select))
          .top(2)
          .get(),
      ),
    );
    const [first, second] = page.value;
    if (second !== undefined) {
      throw new GraphError({
        kind: 'badRequest',
        status: 200,
        code: 'AmbiguousEmployeeId',
        message: `More than one user has the employeeId given (e.g. ${first?.id ?? '?'} and ${second.id}).`,
        fix: 'employeeId must be unique for HR events to find the right account: correct it in AD for one of the users.',
      });
    }
    return first ?? null;
  }

  async assignLicense(userId: string, body: AssignLicenseBody, options?: CallOptions): Promise<GraphUser> {
    // Both arrays always go out: Graph answers 400 when either is missing (GRAPH-FACTS.md).
    const payload: AssignLicenseBody = {
      addLicenses: body.addLicenses.map((l) => ({ skuId: l.skuId, disabledPlans: [...l.disabledPlans] })),
      removeLicenses: [...body.removeLicenses],
    };
    return this.#run(
      'assignLicense',
      options,
      {
        user: loggableUser(userId),
        add: payload.addLicenses.map((l) => l.skuId),
        remove: payload.removeLicenses,
      },
      async (requestId) =>
        graphUserSchema.parse(
          await this.#api(`${userPath(userId)}/assignLicense`, requestId, options).post(payload),
        ),
    );
  }

  async setUsageLocation(userId: string, usageLocation: string, options?: CallOptions): Promise<void> {
    await this.#run(
      'setUsageLocation',
      options,
      { user: loggableUser(userId), usageLocation },
      async (requestId) => {
        // 204 No Content on success (learn.microsoft.com/graph/api/user-update).
        await this.#api(userPath(userId), requestId, options).patch({ usageLocation });
      },
    );
  }

  async listSubscribedSkus(options?: CallOptions): Promise<SubscribedSku[]> {
    const skus: SubscribedSku[] = [];
    let next: string | undefined;
    do {
      const link = next;
      // Not documented as paged; following a nextLink anyway costs nothing if one ever appears.
      const page = await this.#run('listSubscribedSkus', options, {}, async (requestId) =>
        skuPageSchema.parse(
          await (
            link === undefined
              ? this.#api('/subscribedSkus', requestId, options)
              : this.#link(link, requestId, options)
          ).get(),
        ),
      );
      skus.push(...page.value);
      next = page['@odata.nextLink'];
    } while (next !== undefined);
    return skus;
  }

  async checkMemberGroups(
    userId: string,
    groupIds: readonly string[],
    options?: CallOptions,
  ): Promise<string[]> {
    const unique = [...new Set(groupIds)];
    const member: string[] = [];
    for (const chunk of chunks(unique, CHECK_MEMBER_GROUPS_MAX)) {
      const result = await this.#run(
        'checkMemberGroups',
        options,
        { user: loggableUser(userId), groups: chunk.length },
        async (requestId) =>
          idListSchema.parse(
            await this.#api(`${userPath(userId)}/checkMemberGroups`, requestId, options).post({
              groupIds: chunk,
            }),
          ),
      );
      member.push(...result.value);
    }
    return member;
  }

  async deltaPage(
    linkOrSelect: { link: string } | { select: readonly string[] },
    options?: CallOptions,
  ): Promise<DeltaPage> {
    const fromLink = 'link' in linkOrSelect;
    return this.#run('delta', options, { fromLink }, async (requestId) => {
      const request =
        'link' in linkOrSelect
          ? this.#link(linkOrSelect.link, requestId, options)
          : this.#api('/users/delta', requestId, options).select(userSelect(linkOrSelect.select));
      const envelope = deltaEnvelopeSchema.parse(await request.get());
      const page: DeltaPage = { users: [], removed: [] };
      for (const item of envelope.value) {
        if ('@removed' in item) {
          const removed = removedItemSchema.parse(item);
          page.removed.push({ id: removed.id, reason: removed['@removed'].reason });
        } else {
          page.users.push(deltaUserSchema.parse(item));
        }
      }
      const nextLink = envelope['@odata.nextLink'];
      const deltaLink = envelope['@odata.deltaLink'];
      if (nextLink !== undefined) page.nextLink = nextLink;
      if (deltaLink !== undefined) page.deltaLink = deltaLink;
      return page;
    });
  }

  async createSubscription(sub: NewSubscription, options?: CallOptions): Promise<GraphSubscription> {
    return this.#run(
      'createSubscription',
      options,
      { resource: sub.resource, changeType: sub.changeType },
      async (requestId) =>
        subscriptionSchema.parse(await this.#api('/subscriptions', requestId, options).post({ ...sub })),
    );
  }

  async renewSubscription(
    id: string,
    expirationDateTime: string,
    options?: CallOptions,
  ): Promise<GraphSubscription> {
    return this.#run(
      'renewSubscription',
      options,
      { subscriptionId: id, expirationDateTime },
      async (requestId) =>
        subscriptionSchema.parse(
          await this.#api(`/subscriptions/${segment(id)}`, requestId, options).patch({ expirationDateTime }),
        ),
    );
  }

  async reauthorizeSubscription(id: string, options?: CallOptions): Promise<void> {
    await this.#run('reauthorizeSubscription', options, { subscriptionId: id }, async (requestId) => {
      // No request body (learn.microsoft.com/graph/api/subscription-reauthorize); 204 on success.
      await this.#api(`/subscriptions/${segment(id)}/reauthorize`, requestId, options).post(undefined);
    });
  }

  async getSubscription(id: string, options?: CallOptions): Promise<GraphSubscription | null> {
    try {
      return await this.#run('getSubscription', options, { subscriptionId: id }, async (requestId) =>
        subscriptionSchema.parse(await this.#api(`/subscriptions/${segment(id)}`, requestId, options).get()),
      );
    } catch (error) {
      if (isGraphError(error) && error.kind === 'notFound') return null;
      throw error;
    }
  }

  /** Deleting a subscription that is already gone (404) counts as done: the goal state holds. */
  async deleteSubscription(id: string, options?: CallOptions): Promise<void> {
    try {
      await this.#run('deleteSubscription', options, { subscriptionId: id }, async (requestId) => {
        await this.#api(`/subscriptions/${segment(id)}`, requestId, options).delete();
      });
    } catch (error) {
      if (isGraphError(error) && error.kind === 'notFound') return;
      throw error;
    }
  }

  async getGroupName(id: string, options?: CallOptions): Promise<string | null> {
    try {
      return await this.#run('getGroup', options, { groupId: id }, async (requestId) => {
        const group = groupNameSchema.parse(
          await this.#api(`/groups/${segment(id)}`, requestId, options)
            .select(['id', 'displayName'])
            .get(),
        );
        return group.displayName ?? null;
      });
    } catch (error) {
      if (isGraphError(error) && error.kind === 'notFound') return null;
      throw error;
    }
  }
}

/**
 * The Graph adapter of the `GraphGateway` port over an existing client (build it with
 * `createGraphClient`, or use `graphGatewayFromConfig`).
 */
export function createGraphGateway(options: GraphGatewayOptions): GraphGateway {
  return new GraphGatewayAdapter(options);
}

/**
 * For the composition root: credential, pacer, client and gateway from the parsed config. Call it
 * once per process (lib/app.ts, lib/cli/runtime.ts do): the pacer it builds keeps the app's Graph
 * budget for every request of the process, and two would each spend the whole budget.
 * @param retry test seams of the retry middleware (its sleep, its random source); real ones by default.
 * @param options.pacer an existing pacer to share instead of building one.
 */
export function graphGatewayFromConfig(
  config: BaseConfig,
  logger: Logger,
  retry: Pick<RetryOptions, 'sleep' | 'random'> = {},
  options: { pacer?: GraphPacer } = {},
): GraphGateway {
  const credential = createCredential({
    managedIdentityClientId: config.managedIdentityClientId,
    simulator: config.graph.simulator,
    baseUrl: config.graph.baseUrl,
    tenantId: config.tenantId,
  });
  const graphLogger = logger.child({ component: 'graph' });
  const pacer =
    options.pacer ??
    new GraphPacer(config.graph.pacing, { logger: graphLogger.child({ component: 'pacer' }) });
  const client = createGraphClient({
    baseUrl: config.graph.baseUrl,
    credential,
    maxRetries: config.graph.maxRetries,
    pacer,
    logger: graphLogger,
    retry,
  });
  return createGraphGateway({ client, logger: graphLogger, baseUrl: config.graph.baseUrl });
}
