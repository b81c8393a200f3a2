/**
 * The workbook and the alert rules read the app's log lines through the KQL files of
 * infra/queries/. This test reads the app's sources (every pino log call, with the fields of the
 * objects logged, by their types) and checks each query: the messages it filters on are logged,
 * the fields it reads are logged with them, the Application Insights columns it uses exist. It
 * also ties the queries to infra/app/monitoring.bicep and to docs/operations.md, which show them
 * verbatim. Renaming a logged field or message makes it fail at the query that still uses it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/log.js';
import { analyseKql, checkQuery } from '../support/kql-check.js';
import { scanLogCalls, tsFilesUnder, type LogScan } from '../support/log-scan.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (rel: string) => readFileSync(path.join(root, rel), 'utf8');
const queryDir = path.join(root, 'infra/queries');
const queryFiles = readdirSync(queryDir)
  .filter((f) => f.endsWith('.kql'))
  .sort();
const query = (file: string) => read(`infra/queries/${file}`);
const monitoringBicep = read('infra/app/monitoring.bicep');
const mainBicep = read('infra/main.bicep');

let scan: LogScan;
/** The fields of every line: pino's own and the base `app`, from a line the real logger writes. */
let base: Set<string>;

beforeAll(() => {
  scan = scanLogCalls(
    tsFilesUnder(path.join(root, 'lib'), path.join(root, 'functions')),
    path.join(root, 'lib/log-events.ts'),
  );
  const lines: string[] = [];
  createLogger({ destination: { write: (l: string) => void lines.push(l) } }).info('x');
  base = new Set(Object.keys(JSON.parse(lines[0] ?? '{}') as object));
}, 120_000);

describe("the app's log lines, as the scanner reads them", () => {
  it('has a readable message in every log call', () => {
    expect(scan.dynamic).toEqual([]);
  });

  it('reads the fields of typed objects, template messages and child bindings', () => {
    const exact = (msg: string) => scan.events.get(`exact:${msg}`);
    expect([...(exact('delta round finished')?.fields ?? [])].sort()).toEqual([
      'changed',
      'fullSync',
      'held',
      'heldRound',
      'pages',
      'queued',
      'removed',
    ]);
    expect(scan.events.get('prefix:Graph call failed: ')?.fields).toContain('status');
    expect([...scan.bindings]).toEqual(
      expect.arrayContaining(['invocationId', 'function', 'correlationId', 'jobId', 'graphOperation']),
    );
    expect([...base].sort()).toEqual(['app', 'level', 'msg', 'time']);
  });

  it('logs every contracted event of lib/log-events.ts with exactly its fields (or not yet at all)', () => {
    const pending: string[] = [];
    for (const [msg, fields] of scan.contracts) {
      const logged = scan.events.get(`exact:${msg}`);
      if (!logged) {
        pending.push(msg);
        continue;
      }
      expect([...logged.fields].sort(), msg).toEqual([...fields].sort());
    }
    expect(pending).toEqual([]);
  });
});

describe('infra/queries/*.kql', () => {
  it('has the queries the workbook, the alerts and the docs use', () => {
    expect(queryFiles.length).toBeGreaterThanOrEqual(10);
  });

  it.each(queryFiles)('%s reads only messages, fields and columns that exist', (file) => {
    expect(checkQuery(file, query(file), scan, base)).toEqual([]);
  });
});

describe('a renamed field', () => {
  it('fails the query that still reads the old name', () => {
    const fixture = scanLogCalls([path.join(root, 'test/fixtures/log-scan/renamed-field.ts')]);
    const kql = [
      'traces',
      '| where message startswith "{"',
      '| extend e = parse_json(message)',
      '| where tostring(e.msg) == "fixture event"',
      '| project timestamp, v = toint(e.oldName), k = tostring(e.kept)',
    ].join('\n');
    expect(checkQuery('q.kql', kql, fixture, base)).toEqual([
      'q.kql: reads e.oldName, which no log line of "fixture event" has',
    ]);
    expect(checkQuery('q.kql', kql.replace('oldName', 'newName'), fixture, base)).toEqual([]);
    expect(checkQuery('q.kql', kql.replace('fixture event', 'fixture evnet'), fixture, base)).toEqual([
      'q.kql: no log line has the message "fixture evnet"',
      'q.kql: reads e.oldName, which no log line of "fixture evnet" has',
      'q.kql: reads e.kept, which no log line of "fixture evnet" has',
    ]);
    const renamed = kql.replace('oldName', 'newName');
    expect(
      checkQuery('q.kql', renamed.replace('| project timestamp', '| project timestmap'), fixture, base),
    ).toEqual(['q.kql: uses timestmap, not a column of traces']);
  });
});

/** `loadTextContent('../queries/x.kql')` file names in the Bicep. */
const loaded = [...monitoringBicep.matchAll(/loadTextContent\('\.\.\/queries\/([\w.-]+\.kql)'\)/g)].map(
  (m) => m[1] ?? '',
);

/** The scheduled query rule resource whose query file is `file`, as text. */
function ruleUsing(file: string): string {
  const at = monitoringBicep.indexOf(`loadTextContent('../queries/${file}')`);
  const start = monitoringBicep.lastIndexOf('resource ', at);
  const end = monitoringBicep.indexOf('\nresource ', at);
  return monitoringBicep.slice(start, end < 0 ? undefined : end);
}

describe('infra/app/monitoring.bicep', () => {
  it('loads only query files that exist, and uses every one the docs do not own alone', () => {
    expect(loaded.filter((f) => !queryFiles.includes(f))).toEqual([]);
    const docsOnly = [
      'job-story.kql',
      'subscription-and-delta.kql',
      'invocation-exceptions.kql',
      'notification-latency.kql',
      'invocations.kql',
      'entry-point-failure.kql',
    ];
    expect(queryFiles.filter((f) => !loaded.includes(f) && !docsOnly.includes(f))).toEqual([]);
  });

  it('puts the workbook tiles an admin needs on it', () => {
    for (const file of [
      'outcomes-by-kind.kql',
      'failures-with-fix.kql',
      'deferred-jobs.kql',
      'seats-over-time.kql',
      'seat-forecast.kql',
      'held-rounds.kql',
    ]) {
      expect(monitoringBicep).toMatch(
        new RegExp(
          `query: loadTextContent\\('\\.\\./queries/${file.replace('.', '\\.')}'\\)\\n\\s+visualization:`,
        ),
      );
    }
    expect(monitoringBicep).toMatch(/metric: 'microsoft\.servicebus\/namespaces--DeadletteredMessages'/);
    expect(monitoringBicep).toMatch(
      /resource workbook 'Microsoft\.Insights\/workbooks@[\d-]+' = \{[^]*serializedData: string\(workbookContent\)/,
    );
  });

  it.each([
    ['alert-failed.kql', 'Count', 'GreaterThan', '0'],
    ['alert-seats-low.kql', 'Minimum', 'LessThan', 'seatAlertThreshold'],
    ['alert-no-delta-round.kql', 'Count', 'LessThan', '1'],
  ])('alerts on %s (%s %s %s), with columns the query outputs', (file, aggregation, operator, threshold) => {
    const rule = ruleUsing(file);
    expect(rule).toMatch(/^resource \w+ 'Microsoft\.Insights\/scheduledQueryRules@2023-12-01'/);
    expect(rule).toContain(`timeAggregation: '${aggregation}'`);
    expect(rule).toContain(`operator: '${operator}'`);
    expect(rule).toContain(`threshold: ${threshold}`);
    expect(rule).toContain('scopes: [appInsights.id]');
    expect(rule).toContain('actions: { actionGroups: actionGroupIds }');
    const outputs = analyseKql(query(file)).assigned;
    const measure = /metricMeasureColumn: '(\w+)'/.exec(rule)?.[1];
    if (measure) expect(outputs).toContain(measure);
    for (const m of rule.matchAll(/\{ name: '(\w+)', operator: 'Include'/g)) expect(outputs).toContain(m[1]);
  });

  it('alerts on dead-lettered jobs of the job queue, through the same action group', () => {
    expect(monitoringBicep).toMatch(
      /resource deadLetterAlert 'Microsoft\.Insights\/metricAlerts@2018-03-01' = \{[^]*metricName: 'DeadletteredMessages'[^]*\{ name: 'EntityName', operator: 'Include', values: \[licenseJobsQueueName\] \}[^]*operator: 'GreaterThan'\n\s+threshold: 0[^]*actions: \[for id in actionGroupIds: \{ actionGroupId: id \}\]/,
    );
  });

  it('emails the address of the azd parameter ALERT_EMAIL', () => {
    const params = JSON.parse(read('infra/main.parameters.json')) as {
      parameters: Record<string, { value: string }>;
    };
    expect(params.parameters['alertEmail']?.value).toBe('${ALERT_EMAIL}');
    expect(mainBicep).toMatch(/^param alertEmail string = ''$/m);
    expect(mainBicep).toMatch(
      /module monitoring '\.\/app\/monitoring\.bicep' = \{[^]*alertEmail: alertEmail/,
    );
    expect(monitoringBicep).toMatch(/emailAddress: alertEmail/);
  });

  it('keeps every trace in Application Insights (the alerts count them): traces are not sampled', () => {
    const host = JSON.parse(read('host.json')) as {
      logging: { applicationInsights: { samplingSettings: { excludedTypes: string } } };
    };
    expect(host.logging.applicationInsights.samplingSettings.excludedTypes.split(';')).toContain('Trace');
  });
});

describe('docs/operations.md', () => {
  const doc = read('docs/operations.md');
  // Fenced blocks, without the indentation of a list item they may sit in.
  const blocks = [...doc.matchAll(/^( *)```kusto\n([^]*?)^ *```/gm)].map((m) =>
    (m[2] ?? '')
      .split('\n')
      .map((l) => l.slice((m[1] ?? '').length))
      .join('\n'),
  );

  it('shows every query file, verbatim', () => {
    expect(queryFiles.filter((f) => !blocks.includes(query(f)))).toEqual([]);
  });

  it('shows no query that is not a file (one copy of each, the one the workbook runs)', () => {
    expect(blocks.filter((b) => !queryFiles.some((f) => query(f) === b))).toEqual([]);
  });
});
