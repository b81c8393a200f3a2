/**
 * The Graph operations the gateway performs, and the least-privileged application permission each
 * one needs. The permission is named in the `fix` of a 403 (STYLE.md principle 7).
 */

/** One gateway operation; used to name the permission a 403 is missing and in log lines. */
export type GraphOperation =
  | 'listUsers'
  | 'getUser'
  | 'getUsers'
  | 'findUserByEmployeeId'
  | 'assignLicense'
  | 'setUsageLocation'
  | 'listSubscribedSkus'
  | 'checkMemberGroups'
  | 'listGroups'
  | 'listGroupMembers'
  | 'delta'
  | 'createSubscription'
  | 'renewSubscription'
  | 'reauthorizeSubscription'
  | 'getSubscription'
  | 'deleteSubscription'
  | 'getGroup';

/**
 * Least-privileged application permission per operation. Sources (learn.microsoft.com/graph/api/…):
 * user-list, user-get, user-delta → User.Read.All; user-assignlicense → LicenseAssignment.ReadWrite.All;
 * user-update → User.ReadWrite.All (usageLocation); subscribedsku-list → LicenseAssignment.Read.All
 * (Organization.Read.All also works); user-checkmembergroups → User.Read.All and GroupMember.Read.All;
 * subscription-post-subscriptions → the permission of the resource (/users: User.Read.All);
 * group-get → GroupMember.Read.All (the CLI's group names, and that the groups `memberOf` names
 * exist); group-list, group-list-members, group-list-transitivemembers → GroupMember.Read.All (the
 * `import-gbl` command's reads; Group.Read.All also works). The app itself never reads a group.
 */
export const REQUIRED_PERMISSION: Readonly<Record<GraphOperation, string>> = {
  listUsers: 'User.Read.All',
  getUser: 'User.Read.All',
  getUsers: 'User.Read.All',
  findUserByEmployeeId: 'User.Read.All',
  assignLicense: 'LicenseAssignment.ReadWrite.All',
  setUsageLocation: 'User.ReadWrite.All',
  listSubscribedSkus: 'LicenseAssignment.Read.All (or Organization.Read.All)',
  checkMemberGroups: 'GroupMember.Read.All (with User.Read.All)',
  listGroups: 'GroupMember.Read.All (or Group.Read.All)',
  listGroupMembers: 'GroupMember.Read.All (or Group.Read.All)',
  delta: 'User.Read.All',
  createSubscription: 'User.Read.All (the permission of the subscribed resource, /users)',
  renewSubscription: 'User.Read.All (the permission of the subscribed resource, /users)',
  reauthorizeSubscription: 'User.Read.All (the permission of the subscribed resource, /users)',
  getSubscription: 'User.Read.All (the permission of the subscribed resource, /users)',
  deleteSubscription: 'User.Read.All (the permission of the subscribed resource, /users)',
  getGroup: 'GroupMember.Read.All',
};
