/**
 * `$filter` on /groups: the clauses the directory answers by default, joined with `and`.
 * Sources: learn.microsoft.com/graph/api/resources/group (per property: assignedLicenses
 * "Supports $filter (eq)", groupTypes "(eq, NOT)", hasMembersWithLicenseErrors "(eq)", id,
 * displayName, membershipRuleProcessingState "(eq, …)"), learn.microsoft.com/graph/filter-query-parameter
 * (lambda operators: `assignedLicenses/any(x:x/skuId eq {guid})`, `groupTypes/any(c:c eq 'Unified')`).
 * Anything else is refused as the directory refuses it (msgraph-sdk-powershell issue 2967 quotes
 * "Unsupported or invalid query filter clause specified for property '…' of resource 'Group'.").
 */
import type { Directory, GroupRecord } from './directory.js';
import { badRequest, unsupportedQuery } from './errors.js';

type Clause = (g: GroupRecord, dir: Directory) => boolean;

const unsupported = (property: string) =>
  unsupportedQuery(
    `Unsupported or invalid query filter clause specified for property '${property}' of resource 'Group'.`,
  );

/** Splits on ` and ` outside quotes and parentheses. */
function splitAnd(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (c === "'") quoted = !quoted;
    else if (!quoted && c === '(') depth++;
    else if (!quoted && c === ')') depth--;
    else if (!quoted && depth === 0 && /^\s+and\s+/i.test(text.slice(i))) {
      parts.push(text.slice(start, i));
      const m = /^\s+and\s+/i.exec(text.slice(i));
      i += (m?.[0].length ?? 1) - 1;
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim());
}

/** An OData string literal ('…', quotes doubled) or a bare GUID. */
function literal(raw: string): string {
  const t = raw.trim();
  if (t.startsWith("'")) {
    if (!t.endsWith("'") || t.length < 2)
      throw badRequest(`Invalid filter clause: unterminated string literal.`);
    return t.slice(1, -1).replaceAll("''", "'");
  }
  return t;
}

function clause(text: string): Clause {
  const sku = /^assignedLicenses\/any\(\s*(\w+)\s*:\s*(\w+)\/skuId\s+eq\s+([^)]+)\)$/i.exec(text);
  if (sku !== null) {
    if (sku[1]?.toLowerCase() !== sku[2]?.toLowerCase())
      throw badRequest('Invalid filter clause: unknown lambda variable.');
    const skuId = literal(sku[3] ?? '').toLowerCase();
    return (g) => g.licenses.has(skuId);
  }
  const type = /^groupTypes\/any\(\s*(\w+)\s*:\s*(\w+)\s+eq\s+('[^']*')\s*\)$/i.exec(text);
  if (type !== null) {
    if (type[1]?.toLowerCase() !== type[2]?.toLowerCase())
      throw badRequest('Invalid filter clause: unknown lambda variable.');
    const wanted = literal(type[3] ?? '').toLowerCase();
    return (g) => g.groupTypes.some((t) => t.toLowerCase() === wanted);
  }
  const eq = /^(\w+)\s+eq\s+(.+)$/i.exec(text);
  if (eq !== null) {
    const property = eq[1] ?? '';
    const value = literal(eq[2] ?? '');
    switch (property.toLowerCase()) {
      case 'id':
        return (g) => g.id.toLowerCase() === value.toLowerCase();
      case 'displayname':
        return (g) => g.displayName.toLowerCase() === value.toLowerCase();
      case 'membershipruleprocessingstate':
        return (g) => (g.membershipRuleProcessingState ?? '').toLowerCase() === value.toLowerCase();
      case 'hasmemberswithlicenseerrors':
        // Filter-only property: true selects groups with a member whose group license is in error.
        return (g, dir) => dir.hasMembersWithLicenseErrors(g) === (value.toLowerCase() === 'true');
      default:
        throw unsupported(property);
    }
  }
  throw unsupported(/^(\w+)/.exec(text)?.[1] ?? text);
}

/** Compiles a group `$filter`; throws Graph's 400 for what the directory would refuse. */
export function compileGroupFilter(text: string): (g: GroupRecord, dir: Directory) => boolean {
  const clauses = splitAnd(text).map(clause);
  return (g, dir) => clauses.every((c) => c(g, dir));
}
