/**
 * POST /users/{id}/assignLicense and GET /subscribedSkus.
 * learn.microsoft.com/graph/api/user-assignlicense, learn.microsoft.com/graph/api/subscribedsku-list;
 * error wording from those pages and the issue threads named beside each check (see README.md,
 * Sources).
 */
import { isRecord, type Reply, type RequestContext } from './context.js';
import { directPath, type Directory } from './directory.js';
import { badRequest, resourceNotFound } from './errors.js';
import { isGuid } from './guid.js';
import { projectUser } from './user-properties.js';
import { contextUrl } from './users.js';

interface AddLicense {
  skuId: string;
  disabledPlans: string[];
}

export function assignLicense(ctx: RequestContext, idOrUpn: string): Reply {
  const { dir } = ctx;
  const rec = dir.findUser(idOrUpn);
  if (rec === undefined) throw resourceNotFound(idOrUpn);
  const { add, remove } = parseBody(ctx.body);

  // learn.microsoft.com/graph/api/user-assignlicense (msgraph-sdk-powershell #3245): nothing to do is an error.
  if (add.length === 0 && remove.length === 0) {
    throw badRequest('No license changes provided. At least one license to add or remove must be specified.');
  }

  for (const skuId of [...add.map((a) => a.skuId), ...remove]) {
    const sku = dir.skusById.get(skuId.toLowerCase());
    // An unknown SKU is "not a valid company License" (assignLicense failures: README.md, Sources).
    if (sku === undefined)
      throw badRequest(`License ${skuId} does not correspond to a valid company License.`);
  }
  for (const a of add) {
    const sku = dir.skusById.get(a.skuId.toLowerCase());
    if (sku === undefined) continue;
    // microsoft-graph-docs-contrib #5644: a tenant-level (appliesTo Company) SKU "cannot be assigned to a user".
    if (sku.sku.appliesTo !== 'User') throw badRequest(`License ${a.skuId} cannot be assigned to a user.`);
    const planIds = new Set(sku.sku.servicePlans.map((p) => p.servicePlanId.toLowerCase()));
    for (const plan of a.disabledPlans) {
      // azure-docs #81269: a plan that is not part of the SKU is refused.
      if (!planIds.has(plan.toLowerCase())) {
        throw badRequest(`Service plan ${plan} does not belong to the subscription with SKU ${a.skuId}.`);
      }
    }
  }

  // user-assignlicense: a direct license needs a usage location (group licensing falls back, direct does not).
  const usageLocation = rec.props['usageLocation'];
  if (add.length > 0 && (typeof usageLocation !== 'string' || usageLocation === '')) {
    throw badRequest('License assignment cannot be done for user with invalid usage location.');
  }

  for (const skuId of remove) {
    const key = skuId.toLowerCase();
    if (rec.direct.has(key)) continue;
    const inherited = [...rec.inherited.values()].some((p) => p.skuId.toLowerCase() === key);
    // entra-docs licensing-groups-assign.md: an inherited license cannot be removed per user.
    if (inherited) {
      throw badRequest(
        'User license is inherited from a group membership and it cannot be removed directly from the user.',
      );
    }
    throw badRequest(`User does not have a corresponding license for SKU ${skuId}.`);
  }

  // Seats: only a SKU the user does not hold yet takes one (subscribedsku: free = prepaidUnits.enabled - consumedUnits).
  for (const a of add) {
    if (!dir.holdsActive(rec, a.skuId) && dir.freeSeats(a.skuId) <= 0) {
      throw badRequest(`Subscription with SKU ${a.skuId} does not have any available licenses.`);
    }
  }

  // Apply to a copy first so plan constraints can be checked on the result.
  const stamp = dir.nowIso();
  const nextDirect = new Map(rec.direct);
  for (const skuId of remove) nextDirect.delete(skuId.toLowerCase());
  for (const a of add) {
    // Posting a held SKU replaces its disabledPlans (microsoft-365-docs, "Disable access to services
    // with Microsoft 365 PowerShell").
    nextDirect.set(a.skuId.toLowerCase(), directPath(canonicalSkuId(dir, a.skuId), a.disabledPlans, stamp));
  }
  const before = dir.enabledPlans(dir.effectiveLicenses(rec));
  const after = dir.enabledPlans(dir.effectiveLicenses({ ...rec, direct: nextDirect }));
  checkConstraints(dir, before, after);

  rec.direct = nextDirect;
  dir.touch(rec);
  // user-assignlicense: "If successful, this method returns 200 OK response code and a user object in the response body."
  return {
    status: 200,
    body: {
      '@odata.context': `${contextUrl(ctx.baseUrl, undefined)}/$entity`,
      ...projectUser(dir.renderUser(rec), undefined),
    },
  };
}

function parseBody(body: unknown): { add: AddLicense[]; remove: string[] } {
  if (!isRecord(body)) {
    throw badRequest(
      "One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: addLicenses,removeLicenses.",
    );
  }
  const missing = ['addLicenses', 'removeLicenses'].filter((k) => body[k] === undefined || body[k] === null);
  if (missing.length > 0) {
    // msgraph-sdk-powershell #3231/#3286: both arrays are required, the message names the missing ones.
    throw badRequest(
      `One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: ${missing.join(',')}.`,
    );
  }
  const addRaw = body['addLicenses'];
  const removeRaw = body['removeLicenses'];
  if (!Array.isArray(addRaw) || !Array.isArray(removeRaw)) {
    throw badRequest("Invalid value for 'addLicenses' or 'removeLicenses': arrays are expected.");
  }
  const add: AddLicense[] = addRaw.map((item: unknown) => {
    if (!isRecord(item)) throw badRequest("Invalid value in 'addLicenses': objects with skuId are expected.");
    const skuId = asGuid(item['skuId']);
    const plans = item['disabledPlans'] ?? [];
    if (!Array.isArray(plans)) throw badRequest("Invalid value for 'disabledPlans': an array is expected.");
    return { skuId, disabledPlans: plans.map(asGuid) };
  });
  const remove = removeRaw.map(asGuid);
  return { add, remove };
}

/** microsoft-365-docs #9926: a value that is not a GUID fails OData conversion with this message. */
function asGuid(value: unknown): string {
  if (typeof value === 'string' && isGuid(value)) return value;
  throw badRequest(`Cannot convert the literal '${String(value)}' to the expected type 'Edm.Guid'.`);
}

function canonicalSkuId(dir: Directory, skuId: string): string {
  return dir.skusById.get(skuId.toLowerCase())?.sku.skuId ?? skuId;
}

/**
 * Plan constraints from the tenant file, checked only for violations the change would introduce
 * (entra-docs licensing-groups-resolve-problems.md: mutually exclusive / dependency violations).
 */
function checkConstraints(dir: Directory, before: Set<string>, after: Set<string>): void {
  for (const [a, b] of dir.constraints.mutuallyExclusive) {
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    const nowBoth = after.has(x) && after.has(y);
    const wasBoth = before.has(x) && before.has(y);
    if (nowBoth && !wasBoth) {
      throw badRequest(`License assignment failed because service plans ${a}, ${b} are mutually exclusive.`);
    }
  }
  for (const dep of dir.constraints.dependencies) {
    const p = dep.plan.toLowerCase();
    const satisfied = (set: Set<string>): boolean =>
      !set.has(p) || dep.requiresAnyOf.some((r) => set.has(r.toLowerCase()));
    if (!satisfied(after) && satisfied(before)) {
      throw badRequest(
        `License assignment failed because service plan ${dep.plan} depends on the service plan(s) ${dep.requiresAnyOf.join(', ')}.`,
      );
    }
  }
}

export function listSubscribedSkus(ctx: RequestContext): Reply {
  if (ctx.query['$filter'] !== undefined) {
    // learn.microsoft.com/graph/api/subscribedsku-list: "This method doesn't support the $filter query parameter" (only $select).
    throw badRequest("Query option '$filter' is not supported for subscribedSkus.");
  }
  const selectRaw = ctx.query['$select'];
  const skus = [...ctx.dir.skusById.values()].map((s) => ctx.dir.renderSku(s));
  let value: Record<string, unknown>[] = skus;
  if (selectRaw !== undefined) {
    const names = selectRaw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const known = new Set(Object.keys(skus[0] ?? {}));
    for (const n of names) {
      if (!known.has(n))
        throw badRequest(`Could not find a property named '${n}' on type 'microsoft.graph.subscribedSku'.`);
    }
    value = skus.map((s) => Object.fromEntries(['id', ...names].map((n) => [n, s[n]])));
  }
  return {
    status: 200,
    body: { '@odata.context': `${ctx.baseUrl}/v1.0/$metadata#subscribedSkus`, value },
  };
}

/**
 * POST /users/{id}/checkMemberGroups (learn.microsoft.com/graph/api/directoryobject-checkmembergroups):
 * up to 20 group ids; answers the subset the user belongs to, transitively.
 */
export function checkMemberGroups(ctx: RequestContext, idOrUpn: string): Reply {
  const rec = ctx.dir.findUser(idOrUpn);
  if (rec === undefined) throw resourceNotFound(idOrUpn);
  const body = ctx.body;
  if (!isRecord(body) || !Array.isArray(body['groupIds'])) {
    throw badRequest(
      "One or more parameters of the operation 'checkMemberGroups' are missing from the request payload. The missing parameters are: groupIds.",
    );
  }
  const ids = body['groupIds'].map(asGuid);
  if (ids.length > 20) {
    // directoryobject-checkmembergroups: "You can check up to a maximum of 20 groups per request."
    throw badRequest('The number of groupIds exceeds the maximum of 20.');
  }
  const groups = ctx.dir.transitiveGroupsOf(rec.props.id);
  return {
    status: 200,
    body: {
      '@odata.context': `${ctx.baseUrl}/v1.0/$metadata#Collection(Edm.String)`,
      value: ids.filter((id) => groups.has(id.toLowerCase())),
    },
  };
}
