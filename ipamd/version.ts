/** @module version — reported by `hello`, `/v1/config` and `--version`. */
export const VERSION = '0.1.0';
