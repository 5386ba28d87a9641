/**
 * @module sim errors
 * The simulated cloud's failures, as the typed errors of `providers/errors.ts`.
 *
 * The model names each failure by a neutral {@link SimErrorKind}; a code
 * table turns it into the cloud's own `cloudCode`. The default table is
 * EC2's (cloud-apis.md §1.5), so the sim and the EC2 emulator report what
 * EC2 would; the Azure and GCE emulators pass their own tables over the
 * same model. Codes marked UNVERIFIED in cloud-apis.md are best guesses.
 */
import {
  CloudError,
  CloudNotFoundError,
  CloudUnavailableError,
  InvalidCloudRequestError,
  IpLimitError,
  NicLimitError,
  NoPrefixBlockError,
  SubnetFullError,
  ThrottledError,
  type CloudErrorInit,
} from '../errors.js';

export type SimErrorKind =
  | 'throttled'
  | 'subnetFull'
  | 'noPrefixBlock'
  | 'attachmentLimit'
  | 'addressLimit'
  | 'interfaceNotFound'
  | 'subnetNotFound'
  | 'instanceNotFound'
  | 'vpcNotFound'
  | 'attachmentNotFound'
  | 'reservationNotFound'
  | 'interfaceInUse'
  | 'deleteInUse'
  | 'deviceIndexInUse'
  | 'addressInUse'
  | 'operationNotPermitted'
  | 'invalidParameter'
  | 'invalidInstanceType'
  | 'internal';

export type SimErrorCodes = Readonly<Record<SimErrorKind, string>>;

/** EC2's codes for each failure (cloud-apis.md §1.5). */
export const EC2_ERROR_CODES: SimErrorCodes = {
  throttled: 'RequestLimitExceeded',
  subnetFull: 'InsufficientFreeAddressesInSubnet',
  noPrefixBlock: 'InsufficientCidrBlocks',
  attachmentLimit: 'AttachmentLimitExceeded',
  addressLimit: 'PrivateIpAddressLimitExceeded',
  interfaceNotFound: 'InvalidNetworkInterfaceID.NotFound',
  subnetNotFound: 'InvalidSubnetID.NotFound',
  instanceNotFound: 'InvalidInstanceID.NotFound',
  vpcNotFound: 'InvalidVpcID.NotFound',
  attachmentNotFound: 'InvalidAttachmentID.NotFound',
  reservationNotFound: 'InvalidSubnetCidrReservationID.NotFound', // UNVERIFIED
  // Attaching an ENI that is attached: "Interface: [eni-…] in use." (terraform-provider-aws#27513).
  interfaceInUse: 'InvalidNetworkInterface.InUse',
  // Deleting one still attached or detaching: "Network interface 'eni-…' is currently in use."
  // (amazon-vpc-cni-k8s#1399, gruntwork-io/cloud-nuke#1132): the generic code, told apart by its message.
  deleteInUse: 'InvalidParameterValue',
  deviceIndexInUse: 'InvalidParameterValue', // UNVERIFIED: moto does not check
  addressInUse: 'InvalidIPAddress.InUse', // UNVERIFIED
  operationNotPermitted: 'OperationNotPermitted',
  invalidParameter: 'InvalidParameterValue',
  invalidInstanceType: 'InvalidInstanceType',
  internal: 'InternalError',
};

type CloudErrorClass = new (init: CloudErrorInit) => CloudError;

const CLASS_OF: Readonly<Record<SimErrorKind, CloudErrorClass>> = {
  throttled: ThrottledError,
  subnetFull: SubnetFullError,
  noPrefixBlock: NoPrefixBlockError,
  attachmentLimit: NicLimitError,
  addressLimit: IpLimitError,
  interfaceNotFound: CloudNotFoundError,
  subnetNotFound: CloudNotFoundError,
  instanceNotFound: CloudNotFoundError,
  vpcNotFound: CloudNotFoundError,
  attachmentNotFound: CloudNotFoundError,
  reservationNotFound: CloudNotFoundError,
  interfaceInUse: InvalidCloudRequestError,
  deleteInUse: InvalidCloudRequestError,
  deviceIndexInUse: InvalidCloudRequestError,
  addressInUse: InvalidCloudRequestError,
  operationNotPermitted: InvalidCloudRequestError,
  invalidParameter: InvalidCloudRequestError,
  invalidInstanceType: InvalidCloudRequestError,
  internal: CloudUnavailableError,
};

/** Builds typed errors for one cloud flavour. */
export class SimErrorFactory {
  readonly codes: SimErrorCodes;

  constructor(
    readonly provider: string = 'sim',
    codes: Partial<SimErrorCodes> = {},
  ) {
    this.codes = { ...EC2_ERROR_CODES, ...codes };
  }

  make(kind: SimErrorKind, operation: string, message: string): CloudError {
    const Cls = CLASS_OF[kind];
    return new Cls({ provider: this.provider, operation, cloudCode: this.codes[kind], message });
  }
}
