/**
 * Group names for what the CLI prints: `SG-License-EMS (d6b67995-…)` rather than a bare id, where
 * the tenant has the group and the signed-in account may read it. A group that cannot be read
 * (deleted, or no permission) keeps its id; nothing fails for want of a name.
 */
import type { GraphGateway } from '../graph/gateway.js';

export class GroupNames {
  readonly #gateway: Pick<GraphGateway, 'getGroupName'>;
  readonly #names = new Map<string, string | null>();

  constructor(gateway: Pick<GraphGateway, 'getGroupName'>) {
    this.#gateway = gateway;
  }

  /** Reads the names of the groups not read yet (a few at a time). */
  async load(ids: Iterable<string>): Promise<void> {
    const missing = [...new Set([...ids].map((id) => id.toLowerCase()))].filter((id) => !this.#names.has(id));
    for (let i = 0; i < missing.length; i += 4) {
      await Promise.all(
        missing.slice(i, i + 4).map(async (id) => {
          try {
            this.#names.set(id, await this.#gateway.getGroupName(id));
          } catch {
            // No permission to read groups, or Graph briefly unavailable: the id will do.
            this.#names.set(id, null);
          }
        }),
      );
    }
  }

  /** `Name (id)` when the name is known, else the id. */
  label(id: string): string {
    const name = this.#names.get(id.toLowerCase());
    return name ? `${name} (${id})` : id;
  }

  /** Replaces every known group id in a text with its label. */
  inText(text: string): string {
    let out = text;
    for (const [id, name] of this.#names) {
      if (name) out = out.replace(new RegExp(id.replace(/[-]/g, '\\-'), 'gi'), `${name} (${id})`);
    }
    return out;
  }
}
