/**
 * The rules file: its zod schema (the single source of truth, also turned into
 * `rules.schema.json` for editors) and the TypeScript types the rest of the app reads.
 *
 * Matching semantics, documented here once because editors show these descriptions:
 * - string comparisons are case-insensitive, as Entra ID compares these attributes
 *   case-insensitively (`department: Sales` matches `SALES`);
 * - an attribute that is unset (null) or empty never `equals`, is never `in`, and never
 *   `startsWith` / `endsWith` anything; `exists: false` matches it;
 * - numbers in the file (`equals: 1234`) compare with the attribute's text (`"1234"`).
 */
import { z } from 'zod';
import { EXTENSION_ATTRIBUTE_NAMES } from '../graph/types.js';
import { GUID_PATTERN } from '../shared/guid.js';
import { entraRule } from './entra/parse.js';
import { EntraRuleError } from './entra/rule-error.js';
import { countryCodeFix, isCountryCode } from './usage-location.js';

/** Attributes whose value is text. */
const STRING_ATTRIBUTES = [
  'department',
  'jobTitle',
  'companyName',
  'country',
  'usageLocation',
  'employeeType',
  'userType',
  'upnDomain',
  ...EXTENSION_ATTRIBUTE_NAMES,
] as const;

/** Attributes whose value is true or false. */
export const BOOLEAN_ATTRIBUTES = ['accountEnabled', 'onPremisesSyncEnabled'] as const;

/** Every attribute a condition can test. */
const CONDITION_ATTRIBUTES = [...STRING_ATTRIBUTES, ...BOOLEAN_ATTRIBUTES] as const;
export type ConditionAttribute = (typeof CONDITION_ATTRIBUTES)[number];

/** The comparison operators of an attribute condition; exactly one per condition. */
export const ATTRIBUTE_OPERATORS = ['equals', 'in', 'startsWith', 'endsWith', 'exists'] as const;
export type AttributeOperator = (typeof ATTRIBUTE_OPERATORS)[number];

/** Every key a condition mapping may hold, whatever its form (used for "did you mean"). */
export const CONDITION_KEYS = [
  'attribute',
  ...ATTRIBUTE_OPERATORS,
  'memberOf',
  'not',
  'all',
  'any',
  'entra',
] as const;

/** The GUID of the Intune service plan that `intune: on|off` turns on or off. */
export const INTUNE_PLAN_ID = 'c1ec4a95-1f05-45b3-a911-aa3fa01094f5';
/** The service plan name of that plan (also, confusingly, the part number of the standalone Intune SKU). */
const INTUNE_PLAN_NAME = 'INTUNE_A';

/** `attribute` plus exactly one operator. */
export interface AttributeCondition {
  attribute: ConditionAttribute;
  equals?: string | number | boolean | undefined;
  in?: (string | number)[] | undefined;
  startsWith?: string | undefined;
  endsWith?: string | undefined;
  exists?: boolean | undefined;
}
/** Transitive membership of a group, by object id. */
export interface MemberOfCondition {
  memberOf: string;
}
export interface NotCondition {
  not: Condition;
}
export interface AllCondition {
  all: Condition[];
}
export interface AnyCondition {
  any: Condition[];
}
/** A Microsoft Entra dynamic membership rule, e.g. `(user.department -eq "Sales")` (see lib/rules/entra/). */
export interface EntraCondition {
  entra: string;
}
/** A condition of a rule's `when`. */
export type Condition =
  AttributeCondition | MemberOfCondition | NotCondition | AllCondition | AnyCondition | EntraCondition;

const isBooleanAttribute = (a: ConditionAttribute): boolean =>
  (BOOLEAN_ATTRIBUTES as readonly string[]).includes(a);

const textValue = z.union([z.string(), z.number()]);

/** A usage location compared with a value that is not a country code can never match anyone. */
function countryCodeIssues(c: AttributeCondition, op: 'equals' | 'in', ctx: z.RefinementCtx): void {
  const values = op === 'equals' ? [c.equals] : (c.in ?? []);
  values.forEach((v, i) => {
    if (typeof v !== 'string' || isCountryCode(v)) return;
    ctx.addIssue({
      code: 'custom',
      path: op === 'equals' ? ['equals'] : ['in', i],
      message: `"${v}" is not an ISO 3166-1 alpha-2 country code: no user's usageLocation can equal it`,
      params: { fix: countryCodeFix(v) },
    });
  });
}

const attributeConditionSchema = z
  .strictObject({
    attribute: z
      .enum(CONDITION_ATTRIBUTES)
      .describe(
        'The user attribute to test. upnDomain is the part of userPrincipalName after "@"; ' +
          'extensionAttribute1..15 come from onPremisesExtensionAttributes.',
      ),
    equals: z
      .union([z.string(), z.number(), z.boolean()])
      .optional()
      .describe('Equal to this value (text compared case-insensitively; true/false for boolean attributes).'),
    in: z.array(textValue).min(1).optional().describe('Equal to one of these values (case-insensitive).'),
    startsWith: z.string().min(1).optional().describe('Starts with this text (case-insensitive).'),
    endsWith: z.string().min(1).optional().describe('Ends with this text (case-insensitive).'),
    exists: z
      .boolean()
      .optional()
      .describe('true: the attribute has a non-empty value; false: it is unset or empty.'),
  })
  .superRefine((c, ctx) => {
    const operators = ATTRIBUTE_OPERATORS.filter((op) => c[op] !== undefined);
    if (operators.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          operators.length === 0
            ? `the condition on "${c.attribute}" has no operator`
            : `the condition on "${c.attribute}" has ${operators.length} operators (${operators.join(', ')})`,
        params: {
          fix: `use exactly one of ${ATTRIBUTE_OPERATORS.join(', ')}; combine several with all: [...] or any: [...]`,
        },
      });
      return;
    }
    const op = operators[0];
    if (isBooleanAttribute(c.attribute)) {
      if (op !== 'equals' && op !== 'exists') {
        ctx.addIssue({
          code: 'custom',
          path: [op ?? 'attribute'],
          message: `"${c.attribute}" is true or false; "${op ?? ''}" only works on text attributes`,
          params: { fix: `write { attribute: ${c.attribute}, equals: true } (or false)` },
        });
      } else if (op === 'equals' && typeof c.equals !== 'boolean') {
        ctx.addIssue({
          code: 'custom',
          path: ['equals'],
          message: `"${c.attribute}" is true or false, not ${JSON.stringify(c.equals)}`,
          params: { fix: 'write equals: true or equals: false (unquoted)' },
        });
      }
    } else if (c.attribute === 'usageLocation' && (op === 'equals' || op === 'in')) {
      countryCodeIssues(c, op, ctx);
    } else if (op === 'equals' && typeof c.equals === 'boolean') {
      ctx.addIssue({
        code: 'custom',
        path: ['equals'],
        message: `"${c.attribute}" is text, but equals is the yes/no value ${c.equals}`,
        params: { fix: `quote the value ('${c.equals}') if you mean the text` },
      });
    }
  })
  .meta({
    // attribute + exactly one operator, which JSON Schema can say as "exactly two properties".
    minProperties: 2,
    maxProperties: 2,
    description:
      'Test one user attribute with exactly one operator: equals, in, startsWith, endsWith, exists.',
  });

// Recursive: the getters let zod build the cycle lazily (and name it `condition` in JSON Schema).
const conditionSchema: z.ZodType<Condition> = z
  .union([
    attributeConditionSchema,
    z
      .strictObject({
        memberOf: z
          .string()
          .regex(GUID_PATTERN, { error: 'memberOf takes a group object id (a GUID)' })
          .describe('Object id of a group; membership is transitive (nested groups count).'),
      })
      .describe('The user is a member of this group, directly or through nested groups.'),
    z
      .strictObject({
        get not() {
          return conditionSchema;
        },
      })
      .describe('The inner condition is false.'),
    z
      .strictObject({
        get all() {
          return z.array(conditionSchema).min(1);
        },
      })
      .describe('Every listed condition is true.'),
    z
      .strictObject({
        get any() {
          return z.array(conditionSchema).min(1);
        },
      })
      .describe('At least one listed condition is true.'),
    z
      .strictObject({
        entra: z
          .string()
          .min(1)
          .superRefine((text, ctx) => {
            // Parsed once here (and remembered), so a rule that cannot be evaluated stops the load.
            try {
              entraRule(text);
            } catch (e) {
              if (!(e instanceof EntraRuleError)) throw e;
              ctx.addIssue({ code: 'custom', message: e.message, params: { fix: e.fix } });
            }
          })
          .describe(
            'A membership rule in Microsoft Entra dynamic-group syntax, as in the Entra admin center: ' +
              '(user.department -eq "Sales") -and (user.employeeType -ne "Contractor"). User properties only.',
          ),
      })
      .describe('The user matches this Microsoft Entra dynamic membership rule.'),
  ])
  .meta({ id: 'condition' });

const planList = z
  .array(z.string().min(1))
  .describe('Service plan names (e.g. INTUNE_A) or GUIDs within this SKU.');

/** True when a plan reference in the file names the Intune plan (by name or GUID). */
function isIntunePlanRef(ref: string): boolean {
  const r = ref.toLowerCase();
  return r === INTUNE_PLAN_NAME.toLowerCase() || r === INTUNE_PLAN_ID;
}

export const licenseSchema = z
  .strictObject({
    sku: z
      .string()
      .min(1)
      .describe(
        'SKU by part number (EMS, EMSPREMIUM, …; case-insensitive) or skuId GUID. ' +
          'Note: "INTUNE_A" here means the standalone Intune SKU, not the plan inside EMS.',
      ),
    disabledPlans: planList
      .optional()
      .describe('Plans to turn off; every other plan (including ones Microsoft adds later) stays on.'),
    enabledPlans: planList
      .optional()
      .describe('Plans to turn on; every other plan (including ones Microsoft adds later) stays off.'),
    intune: z
      .enum(['on', 'off'])
      .optional()
      .describe('Shorthand: turn the INTUNE_A service plan (Microsoft Intune Plan 1) of this SKU on or off.'),
  })
  .superRefine((l, ctx) => {
    if (l.disabledPlans !== undefined && l.enabledPlans !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['enabledPlans'],
        message: 'a license has disabledPlans and enabledPlans; only one is allowed',
        params: {
          fix: 'keep disabledPlans (new plans stay on) or enabledPlans (new plans stay off), not both',
        },
      });
    }
    if (l.intune === 'on' && l.disabledPlans?.some(isIntunePlanRef)) {
      ctx.addIssue({
        code: 'custom',
        path: ['intune'],
        message: 'intune: on contradicts disabledPlans, which lists INTUNE_A',
        params: { fix: 'remove INTUNE_A from disabledPlans, or write intune: off' },
      });
    }
    if (l.intune === 'off' && l.enabledPlans?.some(isIntunePlanRef)) {
      ctx.addIssue({
        code: 'custom',
        path: ['intune'],
        message: 'intune: off contradicts enabledPlans, which lists INTUNE_A',
        params: { fix: 'remove INTUNE_A from enabledPlans, or write intune: on' },
      });
    }
  })
  .describe('A license to assign: a SKU and which of its service plans are on.');
export type LicenseSpec = z.infer<typeof licenseSchema>;

export const ruleSchema = z
  .strictObject({
    name: z.string().min(1).describe('Unique name; shown in plans, explanations and outcome records.'),
    description: z.string().optional().describe('Free text for people reading the file.'),
    when: conditionSchema.describe('Which users this rule applies to.'),
    license: z
      .union([z.literal('none'), licenseSchema])
      .optional()
      .describe('One license, or "none" to remove every managed SKU from matching users.'),
    licenses: z.array(licenseSchema).min(1).optional().describe('Several licenses (different SKUs).'),
  })
  .superRefine((r, ctx) => {
    if ((r.license === undefined) === (r.licenses === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: r.license === undefined ? [] : ['licenses'],
        message:
          r.license === undefined
            ? 'the rule has neither license nor licenses'
            : 'the rule has both license and licenses',
        params: { fix: 'give exactly one: license: {...} (or none), or licenses: [...]' },
      });
    }
    if (r.licenses !== undefined) {
      const seen = new Set<string>();
      r.licenses.forEach((l, i) => {
        const key = l.sku.toLowerCase();
        if (seen.has(key)) {
          ctx.addIssue({
            code: 'custom',
            path: ['licenses', i, 'sku'],
            message: `SKU "${l.sku}" is listed twice in this rule`,
            params: { fix: 'merge the two entries into one' },
          });
        }
        seen.add(key);
      });
    }
  })
  .meta({
    // Exactly one of license / licenses, for editors (the refinement above says it for the loader).
    oneOf: [{ required: ['license'] }, { required: ['licenses'] }],
    description: 'A rule: the first rule whose `when` matches a user decides that user’s licenses.',
  });

export const defaultsSchema = z
  .strictObject({
    usageLocation: z
      .string()
      .regex(/^[A-Z]{2}$/, {
        error: 'usageLocation is two capital letters (ISO 3166-1 alpha-2), e.g. GB',
        abort: true,
      })
      .superRefine((v, ctx) => {
        if (!isCountryCode(v))
          ctx.addIssue({
            code: 'custom',
            message: `"${v}" is not an ISO 3166-1 alpha-2 country code: Graph would refuse every license assignment`,
            params: { fix: countryCodeFix(v) },
          });
      })
      .optional()
      .describe(
        'Set on users that have no usageLocation before a license is added (Graph refuses otherwise). ' +
          'ISO 3166-1 alpha-2, e.g. GB.',
      ),
    unmatched: z
      .enum(['leave', 'remove'])
      .default('leave')
      .describe(
        'Users no rule matches: leave (touch nothing) or remove (remove managed SKUs only; other licenses stay).',
      ),
  })
  .describe('Settings that apply to every user.');

/**
 * Rules whose name repeats an earlier one (case-insensitively). Takes the raw document too, so
 * the loader can report duplicates even when other problems stop zod before its refinements.
 */
export function duplicateRuleNames(
  file: unknown,
): { path: (string | number)[]; message: string; fix: string }[] {
  const rules = typeof file === 'object' && file !== null ? (file as { rules?: unknown }).rules : undefined;
  if (!Array.isArray(rules)) return [];
  const first = new Map<string, number>();
  const out: { path: (string | number)[]; message: string; fix: string }[] = [];
  rules.forEach((r: unknown, i) => {
    const name = typeof r === 'object' && r !== null ? (r as { name?: unknown }).name : undefined;
    if (typeof name !== 'string') return;
    const earlier = first.get(name.toLowerCase());
    if (earlier === undefined) {
      first.set(name.toLowerCase(), i);
      return;
    }
    out.push({
      path: ['rules', i, 'name'],
      message: `the name "${name}" is already used by rule ${earlier + 1}`,
      fix: 'give every rule its own name (names are compared case-insensitively)',
    });
  });
  return out;
}

export const rulesFileSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path or URL of rules.schema.json, for editors.'),
    version: z.literal(1).describe('Format version of this file; always 1.'),
    defaults: defaultsSchema.default({ unmatched: 'leave' }),
    rules: z.array(ruleSchema).describe('Ordered: the first rule that matches a user wins.'),
  })
  .superRefine((file, ctx) => {
    for (const d of duplicateRuleNames(file)) {
      ctx.addIssue({ code: 'custom', path: d.path, message: d.message, params: { fix: d.fix } });
    }
  })
  .describe('ems-licensing rules: which users get which Microsoft 365 licenses and service plans.');

/** A parsed, schema-checked rules file (SKU and plan names not yet resolved: see compileRules). */
export type RulesFile = z.infer<typeof rulesFileSchema>;
