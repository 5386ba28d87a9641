/**
 * @module SDK warnings
 * On Node 20 the AWS SDK prints an eight-line NodeVersionSupportWarning ("versions published after the first
 * week of January 2027 will require node >=22") the first time a client is built, so it was the first thing
 * `npm start` and every AWS command showed. Node 20 is a supported runtime of this project (package.json
 * `engines`) until the SDK drops it, and docs/configuration.md says so; the warning tells an operator
 * nothing they can act on at that moment. The SDK's own documented switch turns off that one warning and
 * nothing else (aws/aws-sdk-js-v3#7983); every other process warning still prints. An operator who sets the
 * variable (to anything) keeps their choice.
 */
export const AWS_NODE_WARNING_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/** Called by the entry points (the only code that owns process.env) before any AWS client exists. */
export function quietAwsSdkNodeWarning(env: NodeJS.ProcessEnv): void {
  env[AWS_NODE_WARNING_SWITCH] ??= 'true';
}
