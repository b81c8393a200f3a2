/**
 * Resolving a rules file against the tenant's catalog: part numbers and plan names to GUIDs,
 * `enabledPlans` to the `disabledPlans` Graph takes, the `intune` shorthand applied. Run it at
 * every evaluation cycle with a fresh catalog: Microsoft adds plans to SKUs, enabled by default,
 * and an allow-list must keep them off (entra-docs licensing-group-advanced.md).
 */
import { closest, suggestion } from '../shared/did-you-mean.js';
import { RulesError, formatPath, type RulesProblem } from '../rules/rules-error.js';
import { INTUNE_PLAN_ID, type LicenseSpec, type RulesFile } from '../rules/schema.js';
import { sourceOf } from '../rules/source-map.js';
import type { Catalog } from './catalog.js';
import type { CompiledRule, CompiledRules, ResolvedLicense } from './types.js';

export type { CompiledRule, CompiledRules } from './types.js';

/** The rules name SKUs or plans the tenant does not have or cannot assign. Lists every problem. */
export class RulesValidationError extends RulesError {
  override name = 'RulesValidationError';

  constructor(sourceName: string, problems: readonly RulesProblem[]) {
    super(sourceName, problems, { what: "against the tenant's licenses" });
  }
}

type Path = (string | number)[];

/** Plans a user assignment can switch: company-level plans are not per user, so never listed. */
function perUserPlanIds(catalog: Catalog, skuId: string): string[] {
  return catalog
    .plansOf(skuId)
    .filter((p) => p.appliesTo == null || p.appliesTo.toLowerCase() === 'user')
    .map((p) => p.servicePlanId.toLowerCase());
}

/**
 * Resolve every rule's licenses to GUIDs and compute the managed SKUs.
 * @throws RulesValidationError naming each rule with an unknown or unassignable SKU, an unknown
 * plan, or `intune` on a SKU without the INTUNE_A plan.
 */
export function compileRules(rules: RulesFile, catalog: Catalog): CompiledRules {
  const source = sourceOf(rules);
  const problems: RulesProblem[] = [];
  const managed = new Set<string>();

  const report = (path: Path, rule: string, message: string, fix?: string): void => {
    const at = source?.locate(path) ?? null;
    problems.push({
      ...(at === null ? {} : { line: at.line, column: at.column }),
      path: formatPath(path),
      rule,
      message,
      ...(fix === undefined ? {} : { fix }),
    });
  };

  const resolveLicense = (spec: LicenseSpec, base: Path, rule: string): ResolvedLicense | null => {
    const sku = catalog.resolveSku(spec.sku);
    if (sku === null) {
      const assignable = catalog.assignableSkuPartNumbers();
      const near = closest(spec.sku, assignable);
      const holders = catalog
        .skus()
        .filter((s) => catalog.resolvePlan(s.skuId, spec.sku) !== null)
        .map((s) => s.skuPartNumber);
      report(
        [...base, 'sku'],
        rule,
        `unknown SKU "${spec.sku}": the tenant has no subscription with this part number or id`,
        holders.length > 0
          ? `"${spec.sku}" is a service plan of ${holders.join(', ')}, not a SKU: name the SKU and ` +
              `switch the plan with disabledPlans/enabledPlans (or intune: on|off)`
          : `${near === null ? '' : `did you mean "${near}"? `}assignable SKUs in this tenant: ${
              assignable.join(', ') || 'none'
            }`,
      );
      return null;
    }
    const skuId = sku.skuId.toLowerCase();
    const why = catalog.whyNotAssignable(skuId);
    if (why !== null) {
      report(
        [...base, 'sku'],
        rule,
        `SKU ${sku.skuPartNumber} cannot be assigned: ${why}`,
        `use an assignable SKU: ${catalog.assignableSkuPartNumbers().join(', ') || 'none'}`,
      );
    }

    const planNames = sku.servicePlans.map((p) => p.servicePlanName);
    const resolveList = (key: 'disabledPlans' | 'enabledPlans'): Set<string> => {
      const ids = new Set<string>();
      (spec[key] ?? []).forEach((ref, j) => {
        const plan = catalog.resolvePlan(skuId, ref);
        if (plan === null) {
          const isSku = catalog.resolveSku(ref) !== null;
          report(
            [...base, key, j],
            rule,
            `${sku.skuPartNumber} has no service plan "${ref}"`,
            isSku
              ? `"${ref}" is a SKU, not a plan; ${sku.skuPartNumber} plans: ${planNames.join(', ')}`
              : suggestion(ref, planNames, `${sku.skuPartNumber} plans`),
          );
          return;
        }
        ids.add(plan.servicePlanId.toLowerCase());
      });
      return ids;
    };
    const disabledRefs = resolveList('disabledPlans');
    const enabledRefs = resolveList('enabledPlans');

    const hasIntune = sku.servicePlans.some((p) => p.servicePlanId.toLowerCase() === INTUNE_PLAN_ID);
    if (spec.intune !== undefined && !hasIntune) {
      report(
        [...base, 'intune'],
        rule,
        `intune: ${spec.intune} on ${sku.skuPartNumber}, which has no INTUNE_A plan`,
        `remove intune from this license, or use a SKU that includes Intune; ${sku.skuPartNumber} plans: ${planNames.join(', ')}`,
      );
    }

    // An allow-list is inverted over the SKU's current plans, so plans added later stay off.
    const disabled =
      spec.enabledPlans !== undefined
        ? new Set(perUserPlanIds(catalog, skuId).filter((id) => !enabledRefs.has(id)))
        : disabledRefs;
    if (hasIntune && spec.intune === 'off') disabled.add(INTUNE_PLAN_ID);
    if (spec.intune === 'on') disabled.delete(INTUNE_PLAN_ID);

    // Keep the SKU's plan order so plans and outcome records read the same every time.
    const order = sku.servicePlans.map((p) => p.servicePlanId.toLowerCase());
    const disabledPlans = [...disabled].sort((a, b) => order.indexOf(a) - order.indexOf(b));
    return { skuId, skuPartNumber: sku.skuPartNumber, disabledPlans };
  };

  const compiled: CompiledRule[] = rules.rules.map((rule, index) => {
    const specs: [Path, LicenseSpec][] =
      rule.license === 'none'
        ? []
        : rule.license !== undefined
          ? [[['rules', index, 'license'], rule.license]]
          : (rule.licenses ?? []).map((l, j): [Path, LicenseSpec] => [['rules', index, 'licenses', j], l]);
    const licenses: ResolvedLicense[] = [];
    for (const [path, spec] of specs) {
      const resolved = resolveLicense(spec, path, rule.name);
      if (resolved === null) continue;
      if (licenses.some((l) => l.skuId === resolved.skuId)) {
        report(
          [...path, 'sku'],
          rule.name,
          `SKU ${resolved.skuPartNumber} is listed twice in this rule`,
          'merge the two entries into one',
        );
        continue;
      }
      licenses.push(resolved);
      managed.add(resolved.skuId);
    }
    return {
      name: rule.name,
      index,
      description: rule.description ?? null,
      when: rule.when,
      licenses: rule.license === 'none' ? 'none' : licenses,
    };
  });

  if (problems.length > 0) throw new RulesValidationError(source?.sourceName ?? 'rules', problems);

  return {
    rules: compiled,
    managedSkuIds: managed,
    defaults: { usageLocation: rules.defaults.usageLocation ?? null, unmatched: rules.defaults.unmatched },
  };
}
