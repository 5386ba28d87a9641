/**
 * @module aws emulator
 * Local EC2 Query API + IMDSv2 over the sim cloud, for tests, `npm start`
 * and `vpc-ipamctl emulate`. See docs/aws.md §Emulator.
 */
export { AwsEmulator, EMULATED_EC2_ACTIONS, type AwsEmulatorOptions, type EmulatorRequest } from './server.js';
export { ImdsService, type ImdsInterface, type ImdsView } from './imds.js';
export { CAPACITY_SHORTAGE_MESSAGE } from './context.js';
export { Ec2Account } from './account.js';
export { decodeAuthorizationMessage, DRY_RUN_MESSAGE, type DecodedAuthorization } from './authorization.js';
export {
  allowOnly,
  IamPolicy,
  MalformedPolicyError,
  type AuthorizationRequest,
  type Decision,
  type IamPolicyDocument,
  type IamStatement,
} from './iam-policy.js';
export { IDEMPOTENT_MISMATCH } from './idempotency.js';
export { DEFAULT_GROUPS_PER_INTERFACE } from './security-groups.js';
export { bucketOf, MUTATING, NON_MUTATING, UNFILTERED_NON_MUTATING } from './throttle.js';
export {
  CAPACITY_WORDINGS,
  EMULATE_REALISM,
  INSTANT,
  parseRealism,
  scaleRealism,
  type CapacityWording,
  type Ec2Realism,
} from './realism.js';
export { clusterNodeTags, nextBlock, startEmulatedNode, type EmulatedNodeOptions } from './node.js';
