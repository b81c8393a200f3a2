/**
 * Reading the tenant's licensed groups and their members from Microsoft Graph: the port the
 * `import-gbl` command uses, and its adapter on @microsoft/microsoft-graph-client. A port of its
 * own (not part of GraphGateway): only that operator command reads groups, so nothing else has to
 * implement it, and the Functions app never needs the group permissions.
 *
 * Requests (learn.microsoft.com/graph/api/group-list, group-list-members, group-list-transitivemembers):
 * - `GET /groups?$filter=assignedLicenses/any(x:x/skuId eq {skuId})&$select=…`, once per SKU of the
 *   tenant (resources/group: assignedLicenses "Supports $filter (eq)"; `assignedLicenses` and
 *   `licenseProcessingState` are returned only on `$select`);
 * - `GET /groups/{id}/members` and `/transitiveMembers` with `$select=id,displayName`, 999 a page.
 * Least-privileged application permission for all of them: GroupMember.Read.All.
 */
import { randomUUID } from 'node:crypto';
import type { Client, GraphRequest } from '@microsoft/microsoft-graph-client';
import { z } from 'zod';
import type { BaseConfig } from '../config.js';
import { silentLogger, type Logger } from '../log.js';
import { isGuid } from '../shared/guid.js';
import { createGraphClient, graphBaseUrlOf } from './client.js';
import { createCredential } from './credential.js';
import { toGraphError } from './error-mapping.js';
import type { CallOptions } from './gateway.js';
import { CLIENT_REQUEST_ID_HEADER } from './host-scoped-auth.js';
import type { GraphOperation } from './operations.js';
import { resolveLink, segment } from './paths.js';
import { pageSchema } from './response-schemas.js';
import { assignedLicenseSchema } from './types.js';

/** `groupTypes` value of a dynamic group (resources/group). */
export const DYNAMIC_MEMBERSHIP = 'DynamicMembership';

export const licensedGroupSchema = z.object({
  id: z.string(),
  displayName: z.string().nullish(),
  groupTypes: z.array(z.string()).default([]),
  membershipRule: z.string().nullish(),
  /** `On` or `Paused` (resources/group). */
  membershipRuleProcessingState: z.string().nullish(),
  assignedLicenses: z.array(assignedLicenseSchema).default([]),
  /** resources/licenseprocessingstate: `{ state }`, QueuedForProcessing … ProcessingComplete. */
  licenseProcessingState: z.object({ state: z.string().nullish() }).nullish(),
});
export type LicensedGroup = z.infer<typeof licensedGroupSchema>;

const memberSchema = z.object({
  '@odata.type': z.string().optional(),
  id: z.string(),
  displayName: z.string().nullish(),
});

/** A member of a group: a user, a nested group, or another directory object (device, contact…). */
export interface GroupMember {
  id: string;
  kind: 'user' | 'group' | 'other';
  displayName: string | null;
}

export interface GroupReader {
  /** Groups that carry at least one of these SKUs, each once, in the order first found. */
  listLicensedGroups(skuIds: readonly string[], options?: CallOptions): Promise<LicensedGroup[]>;
  /** Direct members, or (`transitive`) everyone reached through nested groups, groups included. */
  listMembers(groupId: string, transitive: boolean, options?: CallOptions): Promise<GroupMember[]>;
}

const GROUP_SELECT = [
  'id',
  'displayName',
  'groupTypes',
  'membershipRule',
  'membershipRuleProcessingState',
  'assignedLicenses',
  'licenseProcessingState',
];

/** Largest page for directory object collections (learn.microsoft.com/graph/paging: 1 to 999). */
const PAGE_SIZE = 999;

function kindOf(odataType: string | undefined): GroupMember['kind'] {
  if (odataType === '#microsoft.graph.user') return 'user';
  if (odataType === '#microsoft.graph.group') return 'group';
  return 'other';
}

class GroupReaderAdapter implements GroupReader {
  readonly #client: Client;
  readonly #logger: Logger;
  readonly #baseUrl: string;

  constructor(client: Client, logger: Logger, baseUrl: string) {
    this.#client = client;
    this.#logger = logger;
    this.#baseUrl = baseUrl;
  }

  /** Every page of a collection, following `@odata.nextLink` (checked to stay on GRAPH_BASE_URL). */
  async #all<T extends z.ZodType>(
    operation: GraphOperation,
    path: string,
    query: (request: GraphRequest) => GraphRequest,
    item: T,
    options: CallOptions | undefined,
  ): Promise<z.infer<T>[]> {
    const schema = pageSchema(item);
    const out: z.infer<T>[] = [];
    let next: string | undefined;
    let first = true;
    while (first || next !== undefined) {
      const requestId =
        options?.correlationId !== undefined && isGuid(options.correlationId)
          ? options.correlationId
          : randomUUID();
      let request;
      if (first) {
        request = query(this.#client.api(path));
      } else {
        const { version, pathAndQuery } = resolveLink(next ?? '', this.#baseUrl);
        request = this.#client.api(pathAndQuery).version(version);
      }
      request = request.header(CLIENT_REQUEST_ID_HEADER, requestId);
      if (options?.signal !== undefined) request = request.option('signal', options.signal);
      let page;
      try {
        page = schema.parse(await request.get());
      } catch (error) {
        const mapped = toGraphError(error, operation);
        this.#logger.warn(
          { graphOperation: operation, clientRequestId: requestId, status: mapped.status, code: mapped.code },
          `Graph call failed: ${mapped.message}`,
        );
        throw mapped;
      }
      out.push(...page.value);
      next = page['@odata.nextLink'];
      first = false;
    }
    return out;
  }

  async listLicensedGroups(skuIds: readonly string[], options?: CallOptions): Promise<LicensedGroup[]> {
    const byId = new Map<string, LicensedGroup>();
    for (const skuId of [...new Set(skuIds.map((s) => s.toLowerCase()))]) {
      // A GUID in a lambda filter is written bare (filter-query-parameter); refuse anything else.
      if (!isGuid(skuId)) throw new RangeError(`not a SKU id: ${skuId}`);
      const groups = await this.#all(
        'listGroups',
        '/groups',
        // Query values are percent-encoded (learn.microsoft.com/graph/query-parameters).
        (r) =>
          r
            .filter(encodeURIComponent(`assignedLicenses/any(x:x/skuId eq ${skuId})`))
            .select(GROUP_SELECT)
            .top(PAGE_SIZE),
        licensedGroupSchema,
        options,
      );
      for (const g of groups) if (!byId.has(g.id.toLowerCase())) byId.set(g.id.toLowerCase(), g);
    }
    return [...byId.values()];
  }

  async listMembers(groupId: string, transitive: boolean, options?: CallOptions): Promise<GroupMember[]> {
    const members = await this.#all(
      'listGroupMembers',
      `/groups/${segment(groupId)}/${transitive ? 'transitiveMembers' : 'members'}`,
      (r) => r.select(['id', 'displayName']).top(PAGE_SIZE),
      memberSchema,
      options,
    );
    return members.map((m) => ({
      id: m.id,
      kind: kindOf(m['@odata.type']),
      displayName: m.displayName ?? null,
    }));
  }
}

/** The adapter over an existing Graph client (from `createGraphClient`). */
export function createGroupReader(options: {
  client: Client;
  logger?: Logger;
  baseUrl?: string;
}): GroupReader {
  return new GroupReaderAdapter(
    options.client,
    options.logger ?? silentLogger(),
    options.baseUrl ?? graphBaseUrlOf(options.client) ?? 'https://graph.microsoft.com',
  );
}

/** The adapter from the parsed config: its own credential and client, as the gateway builds them. */
export function groupReaderFromConfig(config: BaseConfig, logger: Logger): GroupReader {
  const credential = createCredential({
    managedIdentityClientId: config.managedIdentityClientId,
    simulator: config.graph.simulator,
    baseUrl: config.graph.baseUrl,
    tenantId: config.tenantId,
  });
  const graphLogger = logger.child({ component: 'graph' });
  const client = createGraphClient({
    baseUrl: config.graph.baseUrl,
    credential,
    maxRetries: config.graph.maxRetries,
    logger: graphLogger,
  });
  return createGroupReader({ client, logger: graphLogger, baseUrl: config.graph.baseUrl });
}
