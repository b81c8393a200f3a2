/**
 * Which SKUs a scheduled hire will need, for the seat forecast. The person's account is usually
 * not in Entra ID yet, so the rules are tried against what HR said of them: the organisational
 * attributes the HR event carried (department, job title, company, employee type, country…), as
 * an account synced from AD and enabled. Group membership is unknown then, so `memberOf`
 * conditions count as not a member. A prediction, and reported as one.
 */
import type { GraphUser } from '../graph/types.js';
import { evaluateRules } from '../rules/evaluate.js';
import { desiredStateFor } from './desired.js';
import type { CompiledRules } from './types.js';

/** What the forecast knows of a scheduled hire. */
export interface HireFacts {
  userPrincipalName: string | null;
  attributes: Readonly<Record<string, string>>;
}

function pick(attributes: Readonly<Record<string, string>>, ...keys: string[]): string | null {
  const lower = new Map(Object.entries(attributes).map(([k, v]) => [k.toLowerCase(), v]));
  for (const k of keys) {
    const v = lower.get(k.toLowerCase());
    if (v !== undefined && v !== '') return v;
  }
  return null;
}

/** The account the hire will most likely have once AD syncs it. */
export function hireAsUser(hire: HireFacts, id: string): GraphUser {
  const a = hire.attributes;
  const extensions = Object.fromEntries(
    Array.from({ length: 15 }, (_, i) => `extensionAttribute${String(i + 1)}`)
      .map((name) => [name, pick(a, name)] as const)
      .filter(([, v]) => v !== null),
  );
  return {
    id,
    userPrincipalName: hire.userPrincipalName ?? `${id}@unknown.invalid`,
    accountEnabled: true,
    onPremisesSyncEnabled: true,
    usageLocation: pick(a, 'usageLocation'),
    department: pick(a, 'department', 'division'),
    jobTitle: pick(a, 'jobTitle', 'title'),
    companyName: pick(a, 'companyName', 'company', 'organization'),
    country: pick(a, 'country'),
    employeeType: pick(a, 'employeeType'),
    userType: pick(a, 'userType') ?? 'Member',
    onPremisesExtensionAttributes: extensions,
    assignedLicenses: [],
    licenseAssignmentStates: [],
  };
}

/** The SKU ids (lower case) the rules would give the hire; empty when no rule gives any. */
export function skusForHire(hire: HireFacts, rules: CompiledRules, id: string): string[] {
  const evaluation = evaluateRules(rules, hireAsUser(hire, id), new Set());
  const desired = desiredStateFor(evaluation, rules, 'reconcile');
  return desired.kind === 'licenses' ? desired.licenses.map((l) => l.skuId.toLowerCase()) : [];
}
