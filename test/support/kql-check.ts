/**
 * Reads what a KQL query of infra/queries/ depends on, and checks it against the app's logs (a
 * {@link LogScan}) and the columns of the Application Insights tables it reads.
 *
 * The app's JSON log line is always reached the same way in these queries, `e =
 * parse_json(message)`, so its fields are `e.name` or `e["name"]`, and the messages a query is about
 * are compared with `tostring(e.msg)` (`==`, `in (…)`, `startswith`).
 */
import type { LogScan } from './log-scan.js';

/**
 * Columns of the classic Application Insights tables the queries read, as documented in the
 * Application Insights data model (learn.microsoft.com/azure/azure-monitor/app/data-model-complete:
 * request, exception and trace telemetry) and the Logs schema of the component.
 */
export const APP_INSIGHTS_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  traces: [
    'timestamp',
    'message',
    'severityLevel',
    'customDimensions',
    'operation_Name',
    'operation_Id',
    'cloud_RoleName',
    'cloud_RoleInstance',
  ],
  requests: [
    'timestamp',
    'id',
    'name',
    'url',
    'success',
    'resultCode',
    'duration',
    'customDimensions',
    'operation_Name',
    'operation_Id',
    'cloud_RoleName',
  ],
  exceptions: [
    'timestamp',
    'type',
    'outerMessage',
    'outerType',
    'innermostMessage',
    'problemId',
    'severityLevel',
    'customDimensions',
    'operation_Name',
    'operation_Id',
  ],
};

/** KQL words the queries use that are not columns: operators, functions, keywords. */
const KQL_WORDS = new Set(
  `where extend summarize project project-away order sort by asc desc and or not in has contains startswith
   endswith count dcount max min sum avg percentile bin tostring toint tobool todynamic parse_json take_any
   arg_max arg_min strcat_array isnotempty isempty join kind leftouter inner on render timechart true false
   ago now datetime`
    .split(/\s+/)
    .filter(Boolean),
);

export interface KqlUse {
  /** The tables read (the first of the query and any inside a join). */
  tables: string[];
  /** Messages the query filters on: exact, or prefixes (`startswith`). */
  messages: { text: string; prefix: boolean }[];
  /** Fields of the app's JSON line the query reads (`e.x`, `e["x"]`). */
  fields: string[];
  /** Other names the query uses as columns (neither assigned in it nor KQL words). */
  columns: string[];
  /** Names the query assigns (`name = …`): its output columns. */
  assigned: string[];
}

const stripComments = (text: string) => text.replace(/\/\/[^\n]*/g, '');

export function analyseKql(text: string): KqlUse {
  const code = stripComments(text);
  const noStrings = code.replace(/"((?:[^"\\]|\\.)*)"/g, '""');
  const messages: { text: string; prefix: boolean }[] = [];
  for (const m of code.matchAll(/tostring\(e\.msg\)\s*(==|startswith|in)\s*(\([^)]*\)|"[^"]*")/g)) {
    const values = [...(m[2] ?? '').matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((v) => v[1] ?? '');
    for (const v of values) messages.push({ text: v, prefix: m[1] === 'startswith' });
  }
  const fields = new Set<string>();
  for (const m of noStrings.matchAll(/\be\.([A-Za-z_]\w*)/g)) fields.add(m[1] ?? '');
  for (const m of code.matchAll(/\be\[\s*"([^"]+)"\s*\]/g)) fields.add(m[1] ?? '');
  const tables = [...noStrings.matchAll(/(?:^|\(\s*)\s*([A-Za-z_]\w*)\s*\n\s*\|/gm)].map((m) => m[1] ?? '');
  const assigned = [...new Set([...noStrings.matchAll(/([A-Za-z_]\w*)\s*=(?!=)/g)].map((m) => m[1] ?? ''))];
  const columns = new Set<string>();
  // Identifiers not reached through `.` and not followed by `(` (a function call).
  for (const m of noStrings.matchAll(/(?<![.\w-])([A-Za-z_][\w]*(?:-[a-z]+)?)(?!\w)(?!\s*\()/g)) {
    const name = m[1] ?? '';
    if (KQL_WORDS.has(name) || assigned.includes(name) || tables.includes(name) || name === 'e') continue;
    if (/^\d/.test(name) || /^\d+[hmsd]$/.test(name)) continue;
    columns.add(name);
  }
  return { tables, messages, fields: [...fields], columns: [...columns], assigned };
}

/** Fields every line has: pino's own and the logger's base (`app`). */
export type BaseFields = ReadonlySet<string>;

/** What is wrong with a query against the app's logs and the tables' columns; empty when nothing. */
export function checkQuery(name: string, text: string, scan: LogScan, base: BaseFields): string[] {
  const use = analyseKql(text);
  const problems: string[] = [];
  const events = [...scan.events.values()];
  const contracts = [...scan.contracts.entries()].map(([msg, fields]) => ({ msg, prefix: false, fields }));
  const known = [...events, ...contracts];
  const matched = use.messages.map((m) => {
    const hits = known.filter((e) =>
      m.prefix
        ? e.msg.startsWith(m.text) || (e.prefix && m.text.startsWith(e.msg))
        : !e.prefix && e.msg === m.text,
    );
    if (hits.length === 0) problems.push(`${name}: no log line has the message "${m.text}"`);
    return hits;
  });
  const available = new Set<string>([...base, ...scan.bindings]);
  const sources = use.messages.length > 0 ? matched.flat() : known;
  for (const e of sources) for (const f of e.fields) available.add(f);
  for (const f of use.fields) {
    if (!available.has(f)) {
      problems.push(
        `${name}: reads e.${f}, which no log line ${use.messages.length > 0 ? `of ${use.messages.map((m) => `"${m.text}"`).join(', ')} ` : ''}has`,
      );
    }
  }
  for (const table of use.tables) {
    if (!(table in APP_INSIGHTS_COLUMNS))
      problems.push(`${name}: reads table ${table}, not one of Application Insights'`);
  }
  const columns = new Set(use.tables.flatMap((t) => APP_INSIGHTS_COLUMNS[t] ?? []));
  // `count()` names its column count_; a leftouter join renames the right key with a 1.
  const derived = new Set([...use.assigned.map((a) => `${a}1`), 'count_']);
  for (const c of use.columns) {
    if (!columns.has(c) && !derived.has(c))
      problems.push(`${name}: uses ${c}, not a column of ${use.tables.join(', ')}`);
  }
  return problems;
}
