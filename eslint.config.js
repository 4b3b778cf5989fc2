// Lint rules. The restrictions on sim/ and models/ protect determinism: a simulation draws only
// from its seeded streams and advances only its own clock.
import tseslint from 'typescript-eslint';

const determinism = {
  'no-restricted-properties': [
    'error',
    { object: 'Math', property: 'random', message: 'Use a seeded stream (ctx.rng / ctx.stream).' },
    { object: 'Date', property: 'now', message: 'Simulated time only: use ctx.now.' },
    { object: 'performance', property: 'now', message: 'Simulated time only: use ctx.now.' },
    { object: 'crypto', property: 'randomUUID', message: 'Not deterministic.' },
  ],
  'no-restricted-globals': [
    'error',
    { name: 'setTimeout', message: 'Time passes only through ctx.send(to, msg, delay).' },
    { name: 'setInterval', message: 'Time passes only through ctx.send(to, msg, delay).' },
    { name: 'setImmediate', message: 'Time passes only through ctx.send(to, msg, delay).' },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/', 'docs/api/', 'dist/', '.guest-build/', 'results/', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  { files: ['sim/**/*.ts', 'models/**/*.ts'], rules: determinism },
  {
    files: ['sim/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/models/**', '../models/*'], message: 'sim/ knows nothing about models/.' }] },
      ],
    },
  },
);
