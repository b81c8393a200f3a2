/**
 * The tenant file the simulator starts from: SKUs (as `GET /subscribedSkus` shows them, minus the
 * live `consumedUnits`), plan constraints, groups with their licenses, and users with their direct
 * licenses. Derived state (consumedUnits, assignedLicenses, licenseAssignmentStates) is computed
 * by the simulator, so the file cannot contradict itself. See ./README.md.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { GUID_PATTERN } from './guid.js';
import { latencySettingsSchema } from './latency.js';
import { throttlingOptionSchema } from './throttle.js';

const guid = z.string().regex(GUID_PATTERN, 'a GUID');

const tenantServicePlanSchema = z.object({
  servicePlanId: guid,
  servicePlanName: z.string().min(1),
  provisioningStatus: z.string().default('Success'),
  /** `User` plans can be disabled per user; `Company` plans apply to the tenant. */
  appliesTo: z.enum(['User', 'Company']).default('User'),
});

const tenantSkuSchema = z.object({
  skuId: guid,
  skuPartNumber: z.string().min(1),
  /** Only `User` SKUs can be assigned (learn.microsoft.com/graph/api/resources/subscribedsku). */
  appliesTo: z.enum(['User', 'Company']).default('User'),
  capabilityStatus: z.enum(['Enabled', 'Warning', 'Suspended', 'Deleted', 'LockedOut']).default('Enabled'),
  prepaidUnits: z.object({
    enabled: z.number().int().min(0),
    suspended: z.number().int().min(0).default(0),
    warning: z.number().int().min(0).default(0),
    lockedOut: z.number().int().min(0).default(0),
  }),
  servicePlans: z.array(tenantServicePlanSchema).min(1),
});

const licenseRefSchema = z.object({
  skuId: guid,
  disabledPlans: z.array(guid).default([]),
});

/**
 * Service plan conflicts, by servicePlanId. Graph reports them on assignLicense as
 * "... service plans {a}, {b} are mutually exclusive." and "... service plan {a} depends on the
 * service plan(s) {b}." (entra-docs licensing-group-advanced.md / licensing-groups-resolve-problems.md).
 */
const planConstraintsSchema = z.object({
  mutuallyExclusive: z.array(z.tuple([guid, guid])).default([]),
  dependencies: z.array(z.object({ plan: guid, requiresAnyOf: z.array(guid).min(1) })).default([]),
});

/** `DynamicMembership` in groupTypes marks a dynamic group (learn.microsoft.com/graph/api/resources/group). */
export const DYNAMIC_MEMBERSHIP = 'DynamicMembership';

const tenantGroupSchema = z
  .object({
    id: guid,
    displayName: z.string().min(1),
    description: z.string().nullish(),
    /**
     * User or group object ids. Group-based licensing reaches direct user members only. For a
     * dynamic group these are the members Entra computed from its rule: the simulator does not
     * evaluate membership rules (Entra processes them asynchronously; a test states the outcome).
     */
    members: z.array(guid).default([]),
    licenses: z.array(licenseRefSchema).default([]),
    /** `Unified` (Microsoft 365 group) and/or `DynamicMembership`. */
    groupTypes: z.array(z.string().min(1)).default([]),
    /** Required for, and only allowed on, dynamic groups. */
    membershipRule: z.string().min(1).nullish(),
    /** `On` or `Paused` for dynamic groups (default `On`); null for static ones. */
    membershipRuleProcessingState: z.enum(['On', 'Paused']).nullish(),
    securityEnabled: z.boolean().default(true),
    mailEnabled: z.boolean().default(false),
    /** Group-based licensing progress: QueuedForProcessing, ProcessingInProgress, ProcessingComplete. */
    licenseProcessingState: z
      .enum(['QueuedForProcessing', 'ProcessingInProgress', 'ProcessingComplete'])
      .default('ProcessingComplete'),
  })
  .superRefine((g, ctx) => {
    const dynamic = g.groupTypes.includes(DYNAMIC_MEMBERSHIP);
    // learn.microsoft.com/graph/api/resources/group, membershipRule: "the rule that determines
    // members for this group if the group is a dynamic group (groupTypes contains DynamicMembership)".
    if (dynamic && (g.membershipRule == null || g.membershipRule === '')) {
      ctx.addIssue({
        code: 'custom',
        path: ['membershipRule'],
        message: 'a dynamic group needs a membershipRule',
      });
    }
    if (!dynamic && g.membershipRule != null) {
      ctx.addIssue({
        code: 'custom',
        path: ['groupTypes'],
        message: 'a group with a membershipRule must have DynamicMembership in groupTypes',
      });
    }
  });

/** A user: any Graph user property (`id` and `userPrincipalName` required) plus its direct licenses. */
const tenantUserSchema = z
  .object({
    id: guid,
    userPrincipalName: z.string().min(3),
    displayName: z.string().nullish(),
    accountEnabled: z.boolean().default(true),
    usageLocation: z
      .string()
      .regex(/^[A-Z]{2}$/)
      .nullish(),
    userType: z.enum(['Member', 'Guest']).default('Member'),
    directLicenses: z.array(licenseRefSchema).default([]),
  })
  .catchall(z.unknown());

export const tenantFileSchema = z.object({
  tenantId: guid,
  /** e.g. contoso.onmicrosoft.com */
  defaultDomain: z.string().min(3),
  /** Tenant country; group-based licensing falls back to it when a user has no usageLocation. */
  countryLetterCode: z
    .string()
    .regex(/^[A-Z]{2}$/)
    .default('US'),
  skus: z.array(tenantSkuSchema).min(1),
  planConstraints: planConstraintsSchema.default({ mutuallyExclusive: [], dependencies: [] }),
  groups: z.array(tenantGroupSchema).default([]),
  users: z.array(tenantUserSchema),
  /**
   * Graph's documented throttling limits (./throttle.ts): `true` for the documented defaults or an
   * object adjusting them. Absent: no throttling (start options can still turn it on).
   */
  throttling: throttlingOptionSchema.optional(),
  /** Time held before each answer, for reads and writes (./latency.ts). Absent: none. */
  latency: latencySettingsSchema.optional(),
});

export type TenantFile = z.infer<typeof tenantFileSchema>;
export type TenantFileInput = z.input<typeof tenantFileSchema>;
export type TenantSku = z.infer<typeof tenantSkuSchema>;
export type PlanConstraints = z.infer<typeof planConstraintsSchema>;

/** Absolute path of the bundled sample tenant (generated by this package's scripts/generate-sample-tenant.ts). */
export const SAMPLE_TENANT_PATH = fileURLToPath(new URL('./sample-tenant.json', import.meta.url));

/** Parses a tenant object; throws an Error naming every bad path. */
export function parseTenantFile(data: unknown, source = 'tenant file'): TenantFile {
  const parsed = tenantFileSchema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 10)
      .map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('\n');
    throw new Error(`Invalid ${source}:\n${issues}`);
  }
  return parsed.data;
}

/** Reads and validates a tenant JSON file. */
export async function loadTenantFile(path: string): Promise<TenantFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new Error(`Cannot read tenant file ${path}`, { cause });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new Error(`Tenant file ${path} is not valid JSON`, { cause });
  }
  return parseTenantFile(data, `tenant file ${path}`);
}

/** The bundled sample tenant (~300 users). */
export function loadSampleTenant(): Promise<TenantFile> {
  return loadTenantFile(SAMPLE_TENANT_PATH);
}
