import { describe, expect, it } from 'vitest';
import { actionsInEffect } from '../../lib/engine/actions-in-effect.js';
import type { GraphUser } from '../../lib/graph/types.js';
import type { PlanAction } from '../../lib/licensing/types.js';

const EMS = 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e';
const INTUNE = 'c1ec4a95-1f05-45b3-a911-aa3fa01094f5';
const GROUP = 'b0000000-0000-4000-8000-000000000001';

function user(over: Partial<GraphUser> = {}): GraphUser {
  return { id: 'u', userPrincipalName: 'u@x', assignedLicenses: [], licenseAssignmentStates: [], ...over };
}
const add: PlanAction = { kind: 'addLicense', skuId: EMS, skuPartNumber: 'EMS', disabledPlans: [INTUNE] };
const loc: PlanAction = { kind: 'setUsageLocation', from: null, to: 'GB' };
const remove: PlanAction = { kind: 'removeLicense', skuId: EMS, skuPartNumber: 'EMS' };

describe('actionsInEffect', () => {
  it('sees an add (with its disabled plans, any case) and a usage location as done', () => {
    const done = user({
      usageLocation: 'gb',
      assignedLicenses: [{ skuId: EMS.toUpperCase(), disabledPlans: [INTUNE.toUpperCase()] }],
    });
    expect(actionsInEffect(done, [loc, add])).toEqual({ state: 'all', holding: [loc, add], missing: [] });
  });

  it('does not count an add with other disabled plans, and reports a partial change', () => {
    const partial = user({ usageLocation: 'GB', assignedLicenses: [{ skuId: EMS, disabledPlans: [] }] });
    expect(actionsInEffect(partial, [loc, add])).toEqual({ state: 'some', holding: [loc], missing: [add] });
    expect(actionsInEffect(user(), [loc, add]).state).toBe('none');
  });

  it('counts a removal done when only a group still assigns the SKU (the direct assignment is gone)', () => {
    const viaGroup = user({
      assignedLicenses: [{ skuId: EMS, disabledPlans: [] }],
      licenseAssignmentStates: [{ skuId: EMS, disabledPlans: [], assignedByGroup: GROUP, state: 'Active' }],
    });
    expect(actionsInEffect(viaGroup, [remove]).state).toBe('all');
    const direct = user({
      assignedLicenses: [{ skuId: EMS, disabledPlans: [] }],
      licenseAssignmentStates: [{ skuId: EMS, disabledPlans: [], assignedByGroup: null, state: 'Active' }],
    });
    expect(actionsInEffect(direct, [remove]).state).toBe('none');
  });
});
