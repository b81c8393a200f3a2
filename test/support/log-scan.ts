/**
 * Finds every log line the app can write, by reading its sources with the TypeScript compiler:
 * each call of a pino logger method (`log.info(fields, 'msg')`, `logger[level](fields, msg)`), the
 * message it logs, and the fields it logs, which are the properties of the logged object's type
 * (so `log.info(result, 'delta round finished')` yields DeltaCatchUpResult's fields). Fields bound
 * with `.child({...})` are collected apart: they ride along with every line of that logger.
 * Field contracts for events still to be logged (lib/log-events.ts: `X_EVENT` with `XLogFields`)
 * are read too.
 *
 * The monitoring test checks the KQL files against this, so renaming a logged field or message
 * fails it at the query that still uses the old name.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

/** One message the app logs, and every field logged with it anywhere. */
export interface LoggedEvent {
  msg: string;
  /** The message is a template (`Graph call failed: ${…}`): `msg` is its fixed start. */
  prefix: boolean;
  fields: Set<string>;
  /** Where it is logged, `file:line`. */
  sites: string[];
}

export interface LogScan {
  events: Map<string, LoggedEvent>;
  /** Fields bound with `.child()`: present on the lines of the loggers derived from them. */
  bindings: Set<string>;
  /** Log calls whose message could not be read statically (should be none). */
  dynamic: string[];
  /** lib/log-events.ts: event → the fields its interface declares. */
  contracts: Map<string, Set<string>>;
}

/** Every `.ts` file under the given folders. */
export function tsFilesUnder(...dirs: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(full);
    }
  };
  for (const d of dirs) walk(d);
  return out.sort();
}

function isLogger(checker: ts.TypeChecker, node: ts.Expression): boolean {
  const type = checker.getApparentType(checker.getTypeAtLocation(node));
  return ['child', 'bindings', 'isLevelEnabled'].every((p) => type.getProperty(p) !== undefined);
}

function propertyNames(checker: ts.TypeChecker, node: ts.Expression): string[] {
  const type = checker.getTypeAtLocation(node);
  const parts = type.isUnion() ? type.types : [type];
  const names = new Set<string>();
  for (const t of parts) {
    for (const p of checker.getPropertiesOfType(checker.getApparentType(t))) names.add(p.getName());
  }
  return [...names];
}

/** The message of a log call: a literal, a template's fixed start, or a constant's literal type. */
function messageOf(checker: ts.TypeChecker, node: ts.Expression): { msg: string; prefix: boolean } | null {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))
    return { msg: node.text, prefix: false };
  if (ts.isTemplateExpression(node)) return { msg: node.head.text, prefix: true };
  const type = checker.getTypeAtLocation(node);
  if (type.isStringLiteral()) return { msg: type.value, prefix: false };
  return null;
}

function programFor(files: readonly string[]): ts.Program {
  return ts.createProgram([...files], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    resolveJsonModule: true,
    types: ['node'],
  });
}

function addEvent(
  events: Map<string, LoggedEvent>,
  msg: string,
  prefix: boolean,
  fields: string[],
  site: string,
) {
  const key = `${prefix ? 'prefix' : 'exact'}:${msg}`;
  const event = events.get(key) ?? { msg, prefix, fields: new Set<string>(), sites: [] };
  for (const f of fields) event.fields.add(f);
  event.sites.push(site);
  events.set(key, event);
}

/** Reads the log calls of `files` (and the contracts of `logEventsFile`, when given). */
export function scanLogCalls(files: readonly string[], logEventsFile?: string): LogScan {
  const program = programFor(logEventsFile ? [...files, logEventsFile] : files);
  const checker = program.getTypeChecker();
  const events = new Map<string, LoggedEvent>();
  const bindings = new Set<string>();
  const dynamic: string[] = [];
  const wanted = new Set(files.map((f) => path.resolve(f)));

  for (const source of program.getSourceFiles()) {
    if (!wanted.has(path.resolve(source.fileName))) continue;
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node)) {
        const callee = node.expression;
        const target =
          ts.isPropertyAccessExpression(callee) || ts.isElementAccessExpression(callee)
            ? callee.expression
            : null;
        const method = ts.isPropertyAccessExpression(callee)
          ? callee.name.text
          : ts.isElementAccessExpression(callee)
            ? '[level]'
            : '';
        if (
          target &&
          (LEVELS.has(method) || method === '[level]' || method === 'child') &&
          isLogger(checker, target)
        ) {
          const { line } = source.getLineAndCharacterOfPosition(node.getStart());
          const site = `${path.relative(process.cwd(), source.fileName)}:${String(line + 1)}`;
          const [first, second] = node.arguments;
          if (method === 'child') {
            if (first) for (const f of propertyNames(checker, first)) bindings.add(f);
          } else if (first) {
            const firstIsMessage = messageOf(checker, first) !== null && second === undefined;
            const msgNode = firstIsMessage ? first : second;
            const message = msgNode ? messageOf(checker, msgNode) : null;
            if (message === null) dynamic.push(site);
            else
              addEvent(
                events,
                message.msg,
                message.prefix,
                firstIsMessage ? [] : propertyNames(checker, first),
                site,
              );
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }

  const contracts = new Map<string, Set<string>>();
  const contractSource = logEventsFile ? program.getSourceFile(logEventsFile) : undefined;
  if (contractSource) {
    const module = checker.getSymbolAtLocation(contractSource);
    const exports = module ? checker.getExportsOfModule(module) : [];
    const byName = new Map(exports.map((e) => [e.getName(), e]));
    for (const symbol of exports) {
      const m = /^([A-Z][A-Z0-9_]*)_EVENT$/.exec(symbol.getName());
      if (!m?.[1]) continue;
      const type = checker.getTypeOfSymbol(symbol);
      if (!type.isStringLiteral()) continue;
      const pascal = m[1]
        .toLowerCase()
        .split('_')
        .map((w) => (w[0] ?? '').toUpperCase() + w.slice(1))
        .join('');
      const iface = byName.get(`${pascal}LogFields`);
      if (!iface) continue;
      const declared = checker.getDeclaredTypeOfSymbol(iface);
      contracts.set(type.value, new Set(checker.getPropertiesOfType(declared).map((p) => p.getName())));
    }
  }
  return {
    events: new Map([...events.values()].map((e) => [`${e.prefix ? 'prefix' : 'exact'}:${e.msg}`, e])),
    bindings,
    dynamic,
    contracts,
  };
}
