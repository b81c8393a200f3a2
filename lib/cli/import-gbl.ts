/**
 * `ems-licensing import-gbl [--out FILE] [--force] [--usage-location XX] [--json]`: reads the
 * tenant's group-based licensing, writes a rules file that reproduces it and a report beside it
 * (`FILE` with `.report.md`), and prints the report (or, with --json, one JSON object).
 *
 * Exit codes: 0 when every licensed group was carried over and no user's licenses would change;
 * 1 when the report lists something to act on (differences, groups not carried over); 2 when the
 * output file exists (without --force) or settings are wrong.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { groupReaderFromConfig } from '../graph/group-reader.js';
import type { Logger } from '../log.js';
import { changeText } from '../migrate/compare.js';
import { importGroupLicensing, type ImportResult } from '../migrate/import-gbl.js';
import { importReportLines } from '../migrate/report.js';
import type { CliArgs } from './args.js';
import type { CliIo } from './command-context.js';
import { EXIT } from './exit-codes.js';
import type { CliRuntime } from './runtime.js';

/** The package root (lib/cli/ and dist/cli/ are both two levels down), where rules.schema.json is. */
const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the rules go when --out is not given (in the working directory). */
export const DEFAULT_IMPORT_FILE = 'rules.gbl.yaml';

/** `rules.gbl.yaml` → `rules.gbl.report.md`. */
export function reportPathFor(rulesPath: string): string {
  const ext = path.extname(rulesPath);
  return `${ext === '' ? rulesPath : rulesPath.slice(0, -ext.length)}.report.md`;
}

function jsonOf(result: ImportResult, rulesPath: string, reportPath: string): unknown {
  const { plan, comparison } = result;
  return {
    rulesFile: rulesPath,
    reportFile: reportPath,
    groups: result.groups.map((f) => {
      const carried = plan.carried.find((c) => c.id === f.group.id.toLowerCase());
      return {
        id: f.group.id,
        displayName: f.group.displayName ?? null,
        kind: carried?.kind ?? (f.group.membershipRule == null ? 'static' : 'dynamic'),
        membershipRule: f.group.membershipRule ?? null,
        directUserMembers: f.members.filter((m) => m.kind === 'user').length,
        licenses: f.group.assignedLicenses.map((l) => ({
          sku: result.catalog.skuPartNumber(l.skuId),
          disabledPlans: l.disabledPlans.map((p) => result.catalog.planName(p, l.skuId)),
        })),
        rule: carried?.rule ?? null,
        notCarried: plan.notCarried.find((g) => g.id === f.group.id)?.reason ?? null,
      };
    }),
    rules: plan.rules.map((r) => r.name),
    combinations: plan.combinations,
    notes: plan.notes,
    comparison: {
      users: comparison.users,
      concerned: comparison.concerned,
      same: comparison.same,
      differ: comparison.differ.map((d) => ({ ...d, summary: d.changes.map(changeText).join('; ') })),
    },
  };
}

export async function runImportGbl(
  args: CliArgs,
  runtime: CliRuntime,
  io: CliIo,
  logger: Logger,
): Promise<number> {
  const rulesPath = path.resolve(args.out ?? DEFAULT_IMPORT_FILE);
  const reportPath = reportPathFor(rulesPath);
  const existing = [rulesPath, reportPath].filter((p) => existsSync(p));
  if (existing.length > 0 && !args.force) {
    io.stderr.write(
      `${existing.map((p) => path.relative(process.cwd(), p) || p).join(' and ')} already exist${existing.length === 1 ? 's' : ''}: choose another --out, or pass --force to overwrite.\n`,
    );
    return EXIT.usage;
  }
  if (!existsSync(path.dirname(rulesPath))) {
    io.stderr.write(`The folder of --out (${path.dirname(rulesPath)}) does not exist: create it first.\n`);
    return EXIT.usage;
  }
  const shown = (p: string): string => path.relative(process.cwd(), p) || p;
  const result = await importGroupLicensing(
    {
      gateway: runtime.gateway,
      groups: groupReaderFromConfig(runtime.config, logger),
      correlationId: randomUUID(),
    },
    {
      rulesName: shown(rulesPath),
      reportName: path.basename(reportPath),
      now: new Date(),
      schemaPath: path.relative(path.dirname(rulesPath), path.join(PACKAGE_ROOT, 'rules.schema.json')),
      ...(args.usageLocation === null ? {} : { usageLocation: args.usageLocation }),
    },
  );
  if (result.groups.length === 0) {
    const message = 'No group in this tenant carries a license: there is no group-based licensing to import.';
    io.stdout.write(args.json ? `${JSON.stringify({ groups: [], message })}\n` : `${message}\n`);
    return EXIT.ok;
  }
  const report = `${importReportLines(result, { rulesPath: shown(rulesPath), reportPath: shown(reportPath) }).join('\n')}\n`;
  await writeFile(rulesPath, result.yaml, 'utf8');
  await writeFile(reportPath, report, 'utf8');
  io.stdout.write(
    args.json ? `${JSON.stringify(jsonOf(result, shown(rulesPath), shown(reportPath)))}\n` : report,
  );
  io.stderr.write(`Wrote ${shown(rulesPath)} and ${shown(reportPath)}.\n`);
  const actionable = result.comparison.differ.length > 0 || result.plan.notCarried.length > 0;
  return actionable ? EXIT.failed : EXIT.ok;
}
