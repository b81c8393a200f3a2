/**
 * The client's estimate of what a Graph request costs (lib/graph/request-cost.ts), against Graph's
 * documented identity cost table (learn.microsoft.com/graph/throttling-limits).
 */
import { describe, expect, it } from 'vitest';
import { costOf, costOfBatch, pathAfterVersion } from '../../lib/graph/request-cost.js';

describe('costOf', () => {
  it('prices the gateway’s reads as the table does', () => {
    expect(costOf('GET', '/users?$select=id,assignedLicenses&$top=999')).toEqual({
      lane: 'read',
      resourceUnits: 1,
      writes: 0,
    });
    expect(costOf('GET', '/users')).toEqual({ lane: 'read', resourceUnits: 2, writes: 0 });
    // employeeId lookup: GET users 2, $select −1, $top 2 (< 20) −1, never below 1.
    expect(costOf('GET', "/users?$filter=employeeId%20eq%20'1'&$select=id&$top=2").resourceUnits).toBe(1);
    expect(costOf('GET', '/users/abc?$select=id')).toEqual({ lane: 'read', resourceUnits: 1, writes: 0 });
    expect(costOf('GET', '/users/delta?$select=id')).toEqual({ lane: 'read', resourceUnits: 1, writes: 0 });
    expect(costOf('GET', '/subscribedSkus')).toEqual({ lane: 'read', resourceUnits: 3, writes: 0 });
    expect(costOf('GET', '/users/abc/licenseDetails').resourceUnits).toBe(2);
    expect(costOf('GET', '/groups/g/transitiveMembers').resourceUnits).toBe(5);
    expect(costOf('GET', '/users?$expand=manager').resourceUnits).toBe(3);
  });

  it('prices writes at 1 RU plus 1 write, and read-only POST actions as reads', () => {
    expect(costOf('POST', '/users/abc/assignLicense')).toEqual({
      lane: 'write',
      resourceUnits: 1,
      writes: 1,
    });
    expect(costOf('PATCH', '/users/abc')).toEqual({ lane: 'write', resourceUnits: 1, writes: 1 });
    expect(costOf('POST', '/users/abc/checkMemberGroups')).toEqual({
      lane: 'read',
      resourceUnits: 4,
      writes: 0,
    });
    expect(costOf('POST', '/users/abc/microsoft.graph.getMemberGroups').resourceUnits).toBe(2);
  });

  it('leaves change-notification subscriptions out (not an identity resource)', () => {
    expect(costOf('POST', '/subscriptions')).toEqual({ lane: 'none', resourceUnits: 0, writes: 0 });
    expect(costOf('PATCH', '/subscriptions/s1').lane).toBe('none');
  });
});

describe('costOfBatch', () => {
  it('adds up the requests of a $batch and writes when any of them writes', () => {
    const body = JSON.stringify({
      requests: [
        { id: '1', method: 'GET', url: '/users/a?$select=id' },
        { id: '2', method: 'GET', url: 'users/b?$select=id' },
        { id: '3', method: 'POST', url: '/users/c/assignLicense', body: {} },
      ],
    });
    expect(costOfBatch(body)).toEqual({ lane: 'write', resourceUnits: 3, writes: 1 });
    expect(costOfBatch({ requests: [{ id: '1', method: 'GET', url: '/subscribedSkus' }] })).toEqual({
      lane: 'read',
      resourceUnits: 3,
      writes: 0,
    });
  });

  it('counts an unreadable batch as a write, the safe side', () => {
    expect(costOfBatch('not json')).toEqual({ lane: 'write', resourceUnits: 1, writes: 1 });
    expect(costOfBatch({ requests: [{ id: '1' }] })).toEqual({ lane: 'write', resourceUnits: 1, writes: 1 });
  });
});

describe('pathAfterVersion', () => {
  it('strips origin and API version, keeps the query', () => {
    expect(pathAfterVersion('https://graph.microsoft.com/v1.0/users?$top=5')).toBe('/users?$top=5');
    expect(pathAfterVersion('http://127.0.0.1:7/beta/subscribedSkus')).toBe('/subscribedSkus');
  });
});
