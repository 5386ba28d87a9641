/**
 * @module aws emulator
 * Local EC2 Query API + IMDSv2 over the sim cloud, for tests, `npm start`
 * and `vpc-ipamctl emulate`. See docs/aws.md §Emulator.
 */
export { AwsEmulator, EMULATED_EC2_ACTIONS, type AwsEmulatorOptions, type EmulatorRequest } from './server.js';
export { ImdsService, type ImdsInterface, type ImdsView } from './imds.js';
export { PREFIX_SHORTAGE_MESSAGE, type PrefixShortageCode } from './context.js';
export { nextBlock, startEmulatedNode, type EmulatedNodeOptions } from './node.js';
