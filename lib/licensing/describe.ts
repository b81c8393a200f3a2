/**
 * Licenses and plan actions in words (part numbers and plan names, never bare GUIDs when the
 * catalog knows them), for plans, logs and outcome records.
 */
import type { AssignedLicense } from '../graph/types.js';
import type { LicenseNames } from './catalog.js';
import type { PlanAction, ResolvedLicense } from './types.js';

function planList(planIds: readonly string[], skuId: string, names: LicenseNames): string {
  return planIds.length === 0 ? 'none' : planIds.map((p) => names.planName(p, skuId)).join(', ');
}

/** A license a rule wants: `EMS (disabled: INTUNE_A)`, or `EMS` when every plan is on. */
export function licenseText(l: ResolvedLicense, names?: LicenseNames): string {
  const part = names?.skuPartNumber(l.skuId) ?? l.skuPartNumber;
  if (l.disabledPlans.length === 0) return part;
  const plans = l.disabledPlans.map((p) => names?.planName(p, l.skuId) ?? p);
  return `${part} (disabled: ${plans.join(', ')})`;
}

/**
 * A license in the one notation people see everywhere (plans, explain, seats, logs): `EMS` when
 * every plan is on, `EMS (disabled: INTUNE_A, MFA_PREMIUM)` otherwise. Outcome records keep their
 * own compact form (see {@link formatLicenses}).
 */
export function licenseNotation(
  skuId: string,
  disabledPlans: readonly string[],
  names: LicenseNames,
): string {
  const part = names.skuPartNumber(skuId);
  return disabledPlans.length === 0 ? part : `${part} (disabled: ${planList(disabledPlans, skuId, names)})`;
}

/** Licenses a user holds, in the notation of {@link licenseNotation}, sorted. */
export function describeLicenses(assigned: readonly AssignedLicense[], names: LicenseNames): string[] {
  return assigned.map((l) => licenseNotation(l.skuId, l.disabledPlans, names)).sort();
}

/** One line: `add EMS (disabled: INTUNE_A)`, `update EMS (disabled: none → INTUNE_A)`, `remove EMS`. */
export function describeAction(action: PlanAction, names: LicenseNames): string {
  switch (action.kind) {
    case 'setUsageLocation':
      return `set usageLocation ${action.from ?? 'none'} → ${action.to}`;
    case 'addLicense':
      return `add ${licenseNotation(action.skuId, action.disabledPlans, names)}`;
    case 'updateDisabledPlans':
      return `update ${names.skuPartNumber(action.skuId)} (disabled: ${planList(
        action.before,
        action.skuId,
        names,
      )} → ${planList(action.after, action.skuId, names)})`;
    case 'removeLicense':
      return `remove ${names.skuPartNumber(action.skuId)}`;
  }
}

/**
 * `assignedLicenses` as short strings, sorted: `EMS:-INTUNE_A,-MFA_PREMIUM`, or `EMS` when no
 * plan is disabled. The form outcome records keep as licensesBefore / licensesAfter.
 */
export function formatLicenses(assigned: readonly AssignedLicense[], names: LicenseNames): string[] {
  return assigned
    .map((l) => {
      const part = names.skuPartNumber(l.skuId);
      if (l.disabledPlans.length === 0) return part;
      const plans = l.disabledPlans.map((p) => `-${names.planName(p, l.skuId)}`).sort();
      return `${part}:${plans.join(',')}`;
    })
    .sort();
}
