/**
 * @module aws
 * The AWS provider: {@link AwsProvider} (EC2 + IMDSv2 through
 * `@aws-sdk/client-ec2`), the leaked-ENI sweep and error mapping. Subnet
 * choice and custom networking are provider-neutral (providers/pod-subnets.ts).
 * The emulator lives in `./emulator/`. See docs/aws.md.
 */
export { AwsProvider, type AwsProviderOptions } from './aws-provider.js';
export { createEc2Client, EMULATOR_CREDENTIALS, type Ec2ClientOptions } from './ec2-client.js';
export { CAPACITY_SHORTAGE_TEXT, mapEc2Error, type Ec2CallContext } from './errors.js';
export { DEFAULT_GC_GRACE_MS, LeakedEniCollector, type GcPassReport, type LeakedEniGcOptions } from './eni-gc.js';
export { exclusionReason, TAG_NO_MANAGE, TAG_VPC_CNI_INSTANCE_ID, type ManagePolicy } from './eni-exclusion.js';
export { DEFAULT_IMDS_ENDPOINT, discoverInstance, ImdsClient, type InstanceIdentity } from './imds-client.js';
export { parseAwsSettings, type AwsSettings } from './settings.js';
export * from './tags.js';
