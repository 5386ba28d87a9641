// typescript-eslint's recommended rules over every source (test/architecture/lint.test.ts runs it in npm test).
// Unused names are allowed only when they start with `_`: a parameter an interface requires, a property taken
// out of an object by destructuring.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const unusedOk = { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' };

// Read the environment once (issue 15). The entry points alone touch process.env: they hand it to the one
// parse, which gives every component typed settings.
export const ENTRY_POINTS = [
  'ipamd/main.ts', // vpc-ipamd and vpc-ipamd monitor
  'ipamd/ctl/main.ts', // vpc-ipamctl
  'ipamd/dev-start.ts', // npm start: also makes the SDKs' own reads see the dev environment
  'cni/main.ts', // the CNI executable: CNI_* is its input by the spec
  'cni/build/**', // build scripts (tsx), which run node with a cleaned environment
];
// Where an environment may be a type at all: the modules that turn one into settings.
export const CONFIGURATION_MODULES = [
  'ipamd/config.ts', // the one parse ipamd's entry points call
  'ipamd/config/**', // its schemas, one per concern
  'providers/env-settings.ts', // the readers (and the Env type) the seam's schemas share
  'providers/aws/settings.ts', // each provider's own settings schema: pure, no SDK
  'providers/azure/config.ts',
  'providers/gcp/settings.ts',
  'ipamd/dev-env.ts', // npm start's environment rewrite (an environment in, one out), before the parse
  'ipamd/util/sdk-warnings.ts', // sets the AWS SDK's own switch in the environment an entry point hands it
];
export const ENV_RULES = {
  'no-restricted-properties': [
    'error',
    {
      object: 'process',
      property: 'env',
      message: 'only entry points read process.env; take typed settings from ipamd/config.ts',
    },
  ],
  'no-restricted-syntax': [
    'error',
    {
      selector: "TSQualifiedName[left.name='NodeJS'][right.name='ProcessEnv']",
      message: 'an environment is parsed once (ipamd/config.ts); components take typed settings',
    },
    {
      selector: "ImportDeclaration[source.value=/env-settings(\\.js)?$/] ImportSpecifier[imported.name='Env']",
      message: 'an environment is parsed once (ipamd/config.ts); components take typed settings',
    },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'test/architecture/fixture/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: { '@typescript-eslint/no-unused-vars': ['error', { ...unusedOk, ignoreRestSiblings: true }] },
  },
  {
    files: ['**/*.cjs', '**/*.mjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { module: 'writable', require: 'readonly', process: 'readonly' },
    },
  },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module' } },
  {
    files: ['ipamd/**/*.ts', 'providers/**/*.ts', 'cni/**/*.ts'],
    ignores: ENTRY_POINTS,
    rules: { 'no-restricted-properties': ENV_RULES['no-restricted-properties'] },
  },
  {
    files: ['ipamd/**/*.ts', 'providers/**/*.ts', 'cni/**/*.ts'],
    ignores: [...ENTRY_POINTS, ...CONFIGURATION_MODULES],
    rules: { 'no-restricted-syntax': ENV_RULES['no-restricted-syntax'] },
  },
);
