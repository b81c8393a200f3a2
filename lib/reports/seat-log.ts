/**
 * One `seats read` log line per managed SKU each time the app reads the catalog from Graph (at
 * least every 15 minutes: the delta round reloads it): what the workbook's seats chart and the
 * "seats below a threshold" alert read.
 */
import type { LicensingContext } from '../engine/licensing-context.js';
import { SEATS_READ_EVENT, type SeatsReadLogFields } from '../log-events.js';
import type { Logger } from '../log.js';

export function logSeats(logger: Logger, context: Pick<LicensingContext, 'catalog' | 'rules'>): void {
  for (const id of context.rules.managedSkuIds) {
    const sku = context.catalog.sku(id);
    if (sku === null) continue;
    const fields: SeatsReadLogFields = {
      sku: sku.skuPartNumber,
      skuId: sku.skuId,
      prepaid: sku.prepaidUnits.enabled,
      consumed: sku.consumedUnits,
      free: Math.max(0, sku.prepaidUnits.enabled - sku.consumedUnits),
    };
    logger.info(fields, SEATS_READ_EVENT);
  }
}
