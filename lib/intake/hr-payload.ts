/**
 * What an HR system may send: a SCIM 2.0 User resource (RFC 7643 §4.1 and §4.3, the enterprise
 * extension) or a small event document. Either becomes an {@link HrEvent}.
 *
 * HR is not the source of truth for the attributes licensing rules read: the worker reads the
 * user from Graph (what AD synced). The attributes here are kept for explanation only.
 */
import { z } from 'zod';
import { declaredKeys, describeIssues } from './issue-text.js';

export const SCIM_USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const SCIM_ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/**
 * C0 and C1 control characters (U+0000–U+001F, U+007F–U+009F: NUL, CR, LF, TAB…) and the Unicode
 * line and paragraph separators. No directory identifier holds one (a user principal name is
 * letters, digits and a few punctuation marks; learn.microsoft.com/entra/identity/hybrid/connect/
 * plan-connect-userprincipalname), so a key with one can never match a user: the job would only
 * retry until it failed. They are refused at the door instead, and they never reach a log line.
 */
const CONTROL_CHARACTER = /[\p{Cc}\u2028\u2029]/u;

/** A user key from HR: bounded, and free of control characters. */
const userKey = (min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    .refine((v) => !CONTROL_CHARACTER.test(v), {
      message:
        'holds a control character (such as NUL, CR or LF), which no user name or employee id can match',
    });

/** The same bounds the job schema puts on user keys, so a parsed event always makes a valid job. */
const upn = userKey(3, 1024);
const employeeId = userKey(1, 256);

// Some SCIM producers send booleans as "True"/"False" strings; accept both spellings.
const scimBoolean = z.union([
  z.boolean(),
  z
    .string()
    .regex(/^(true|false)$/i, 'must be true or false')
    .transform((s) => s.toLowerCase() === 'true'),
]);

const enterpriseSchema = z.looseObject({
  employeeNumber: employeeId.optional(),
  costCenter: z.string().optional(),
  organization: z.string().optional(),
  division: z.string().optional(),
  department: z.string().optional(),
  manager: z.looseObject({ value: z.string().optional(), $ref: z.string().optional() }).optional(),
});

export const scimUserSchema = z.looseObject({
  schemas: z.array(z.string()).refine((s) => s.includes(SCIM_USER_SCHEMA), {
    message: `schemas must include ${SCIM_USER_SCHEMA}`,
  }),
  // RFC 7643 §4.1.1: userName is REQUIRED.
  userName: userKey(1, 1024),
  externalId: employeeId.optional(),
  active: scimBoolean.optional(),
  name: z
    .looseObject({
      formatted: z.string().optional(),
      givenName: z.string().optional(),
      familyName: z.string().optional(),
    })
    .optional(),
  emails: z
    .array(z.looseObject({ value: z.string(), type: z.string().optional(), primary: z.boolean().optional() }))
    .optional(),
  title: z.string().optional(),
  userType: z.string().optional(),
  [SCIM_ENTERPRISE_SCHEMA]: enterpriseSchema.optional(),
});
export type ScimUser = z.infer<typeof scimUserSchema>;

const attributeValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const simpleHrEventSchema = z.looseObject({
  type: z.enum(['hire', 'update', 'leave']),
  user: z
    .looseObject({ userPrincipalName: upn.optional(), employeeId: employeeId.optional() })
    .refine((u) => u.userPrincipalName !== undefined || u.employeeId !== undefined, {
      message: 'user needs userPrincipalName or employeeId',
    }),
  attributes: z.record(z.string(), attributeValue).optional(),
  effectiveAt: z.iso.datetime({ offset: true }).optional(),
});
export type SimpleHrEvent = z.infer<typeof simpleHrEventSchema>;

export type HrEventKind = 'hire' | 'update' | 'leave';

/** The normalised event, whatever form it came in. */
export interface HrEvent {
  kind: HrEventKind;
  format: 'scim' | 'event';
  user: { userPrincipalName?: string; employeeId?: string };
  /** For explanation only (never read by the rules); string values, names and emails left out. */
  attributes: Record<string, string>;
  effectiveAt?: Date;
}

export type HrPayloadResult = { ok: true; event: HrEvent } | { ok: false; error: string };

// Explanation needs the organisational facts, not personal data: keys like these are not kept.
const PERSONAL_KEY = /name|mail|phone|address|birth|ssn|salary/i;

function compact(
  values: Record<string, string | number | boolean | null | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && value !== null && !PERSONAL_KEY.test(key)) out[key] = String(value);
  }
  return out;
}

/**
 * A SCIM User says who the person is now, not what happened, so hire and update cannot be told
 * apart; both become `update` (the job is `reconcile` either way, and a user not yet synced is
 * retried by the worker). `active: false` means the person left.
 */
function fromScim(user: ScimUser): HrPayloadResult {
  const ext = user[SCIM_ENTERPRISE_SCHEMA];
  // userName is the UPN in Entra-style provisioning; a bare login name is no use to Graph.
  const userPrincipalName =
    user.userName.includes('@') && user.userName.length >= 3 ? user.userName : undefined;
  // employeeNumber is what Entra maps to employeeId; externalId is the HR system's own key.
  const employee = ext?.employeeNumber ?? user.externalId;
  if (userPrincipalName === undefined && employee === undefined) {
    return {
      ok: false,
      error:
        'the SCIM user needs userName in user@domain form, an enterprise employeeNumber or an externalId',
    };
  }
  return {
    ok: true,
    event: {
      kind: user.active === false ? 'leave' : 'update',
      format: 'scim',
      user: {
        ...(userPrincipalName === undefined ? {} : { userPrincipalName }),
        ...(employee === undefined ? {} : { employeeId: employee }),
      },
      attributes: compact({
        title: user.title,
        userType: user.userType,
        department: ext?.department,
        organization: ext?.organization,
        division: ext?.division,
        costCenter: ext?.costCenter,
        manager: ext?.manager?.value,
        active: user.active,
      }),
    },
  };
}

function fromSimple(e: SimpleHrEvent): HrPayloadResult {
  return {
    ok: true,
    event: {
      kind: e.type,
      format: 'event',
      user: {
        ...(e.user.userPrincipalName === undefined ? {} : { userPrincipalName: e.user.userPrincipalName }),
        ...(e.user.employeeId === undefined ? {} : { employeeId: e.user.employeeId }),
      },
      attributes: compact(e.attributes ?? {}),
      ...(e.effectiveAt === undefined ? {} : { effectiveAt: new Date(e.effectiveAt) }),
    },
  };
}

const SCIM_KEYS = declaredKeys(scimUserSchema);
const SIMPLE_KEYS = declaredKeys(simpleHrEventSchema);

/**
 * Parses a JSON value as a SCIM User (when it has `schemas`) or a simple event. A refusal names
 * the fields by the schema's names and says what is wrong, without quoting the payload: an
 * attribute name or value the sender chose never appears in it (issue-text.ts).
 */
export function parseHrPayload(value: unknown): HrPayloadResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: 'the payload must be a JSON object' };
  }
  if ('schemas' in value) {
    const scim = scimUserSchema.safeParse(value);
    return scim.success
      ? fromScim(scim.data)
      : { ok: false, error: `invalid SCIM user: ${describeIssues(scim.error, SCIM_KEYS)}` };
  }
  const simple = simpleHrEventSchema.safeParse(value);
  return simple.success
    ? fromSimple(simple.data)
    : { ok: false, error: `invalid HR event: ${describeIssues(simple.error, SIMPLE_KEYS)}` };
}
