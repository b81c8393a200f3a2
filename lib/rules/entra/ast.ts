/**
 * The parsed form of an Entra membership rule. Every node keeps its place in the rule text
 * (`span`) and the text itself, so errors can name a column and `explain` can quote each clause
 * exactly as the admin wrote it.
 */
import type { AssignedPlanField, EntraProperty } from './properties.js';

/** A stretch of the rule text: 0-based offsets, `end` exclusive. */
export interface Span {
  start: number;
  end: number;
}

/** A value on the right of an operator. Numbers are compared as the text they were written as. */
export type Literal =
  | { kind: 'text'; value: string; span: Span }
  | { kind: 'boolean'; value: boolean; span: Span }
  | { kind: 'null'; span: Span };

/** The comparison operators (learn.microsoft.com/entra/identity/users/groups-dynamic-membership). */
export const COMPARE_OPERATORS = [
  'eq',
  'ne',
  'startsWith',
  'notStartsWith',
  'endsWith',
  'notEndsWith',
  'contains',
  'notContains',
  'match',
  'notMatch',
  'in',
  'notIn',
] as const;
export type CompareOperator = (typeof COMPARE_OPERATORS)[number];

/** The positive operator a negative one inverts (`ne` is `not eq`); null for positive ones. */
export const NEGATION_OF: Readonly<Partial<Record<CompareOperator, CompareOperator>>> = {
  ne: 'eq',
  notStartsWith: 'startsWith',
  notEndsWith: 'endsWith',
  notContains: 'contains',
  notMatch: 'match',
  notIn: 'in',
};

/** The left side of a comparison: a user property, or an item inside `-any`/`-all`. */
export type Operand =
  | { kind: 'user'; property: EntraProperty; written: string; span: Span }
  /** `_` (an item of a string collection, field null) or `assignedPlan.<field>`. */
  | { kind: 'item'; field: AssignedPlanField | null; written: string; span: Span };

interface NodeBase {
  span: Span;
  /** The node's source text, as written. */
  text: string;
}

export type EntraExpr =
  | (NodeBase & { kind: 'and' | 'or'; operands: EntraExpr[] })
  | (NodeBase & { kind: 'not'; operand: EntraExpr })
  | (NodeBase & {
      kind: 'compare';
      left: Operand;
      operator: CompareOperator;
      /** A list for `-in` / `-notIn`, one value otherwise. */
      right: Literal | Literal[];
      /** The compiled pattern of `-match` / `-notMatch`. */
      pattern?: RegExp;
    })
  | (NodeBase & {
      kind: 'quantified';
      quantifier: 'any' | 'all';
      collection: Extract<Operand, { kind: 'user' }>;
      predicate: EntraExpr;
    });

/** A parsed rule. */
export interface EntraRule {
  /** The rule text as given. */
  text: string;
  root: EntraExpr;
  /** The Graph user properties the rule reads (for `$select`), each once. */
  graphProperties: string[];
}
