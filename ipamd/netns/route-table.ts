/**
 * @module route table
 * Free of imports: the handler and the introspection views use it without loading netlink.
 */
/**
 * The route table of an interface's Pods: AWS's `CalculateRouteTableId` for network card 0. Secondary interface n
 * uses table n + 1; the primary interface (device 0) uses the main table, given as 0 (no table of its own).
 * The one definition for the handler's answers, the plumber and the AWS introspection views.
 */
export function routeTableFor(deviceIndex: number): number {
  return deviceIndex > 0 ? deviceIndex + 1 : 0;
}
