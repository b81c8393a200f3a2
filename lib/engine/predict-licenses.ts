/**
 * What `assignedLicenses` will look like after a plan's actions: used for dry runs (to show the
 * result) and when a re-read is not possible.
 */
import type { AssignedLicense } from '../graph/types.js';
import type { PlanAction } from '../licensing/types.js';

export function predictLicenses(
  current: readonly AssignedLicense[],
  actions: readonly PlanAction[],
): AssignedLicense[] {
  const bySku = new Map(
    current.map((l) => [l.skuId.toLowerCase(), { ...l, disabledPlans: [...l.disabledPlans] }]),
  );
  for (const a of actions) {
    switch (a.kind) {
      case 'addLicense':
        bySku.set(a.skuId.toLowerCase(), { skuId: a.skuId, disabledPlans: [...a.disabledPlans] });
        break;
      case 'updateDisabledPlans':
        bySku.set(a.skuId.toLowerCase(), { skuId: a.skuId, disabledPlans: [...a.after] });
        break;
      case 'removeLicense':
        bySku.delete(a.skuId.toLowerCase());
        break;
      case 'setUsageLocation':
        break;
    }
  }
  return [...bySku.values()];
}
