// `npm run lint`: typescript-eslint's type-aware rules (floating promises above all: an unhandled rejection ends a
// Node process) and @stylistic as the formatter (`npm run format` applies it): 4 spaces, single quotes, semicolons,
// `else` and `catch` on their own line.
import js from '@eslint/js';
import stylistic from '@stylistic/eslint-plugin';
import tseslint from 'typescript-eslint';

export default tseslint.config(
    { ignores: ['**/dist/**', '**/node_modules/**', '.collab/**', 'packages/console/build/**'] },
    js.configs.recommended,
    ...tseslint.configs.recommendedTypeChecked,
    {
        languageOptions: {
            parserOptions: {
                projectService: {
                    allowDefaultProject: ['*.js', 'knexfile.ts', 'scripts/*.js', 'bin/launch.js', 'packages/*/launch.js'],
                    maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: 16
                },
                tsconfigRootDir: import.meta.dirname
            }
        },
        plugins: { '@stylistic': stylistic },
        rules: {
            '@typescript-eslint/no-floating-promises': ['error', {
                allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }]
            }],
            '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
            // Non-null assertions on indexed reads document what the code knows; the compiler does not check them.
            '@typescript-eslint/no-unnecessary-type-assertion': 'off',
            '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
            '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
            '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
            // Static helpers (`Project.toApi`) are passed around; they do not use `this`.
            '@typescript-eslint/unbound-method': 'off',
            '@typescript-eslint/require-await': 'off',
            // Control characters in patterns are deliberate: they are what input checks refuse.
            'no-control-regex': 'off',
            '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
            '@stylistic/indent': ['error', 4, { SwitchCase: 1 }],
            '@stylistic/quotes': ['error', 'single', { avoidEscape: true }],
            '@stylistic/semi': ['error', 'always'],
            '@stylistic/brace-style': ['error', 'stroustrup', { allowSingleLine: true }],
            '@stylistic/comma-dangle': ['error', 'never'],
            '@stylistic/no-trailing-spaces': 'error',
            '@stylistic/eol-last': 'error',
            '@stylistic/keyword-spacing': 'error',
            '@stylistic/space-before-blocks': 'error',
            '@stylistic/arrow-parens': ['error', 'always'],
            '@stylistic/no-multiple-empty-lines': ['error', { max: 1 }]
        }
    },
    {
        // Tests and benchmarks read JSON answers whose shape they assert.
        files: ['test/**', 'bench/**'],
        rules: {
            '@typescript-eslint/no-unsafe-assignment': 'off',
            '@typescript-eslint/no-unsafe-member-access': 'off',
            '@typescript-eslint/no-unsafe-argument': 'off',
            '@typescript-eslint/no-unsafe-return': 'off',
            '@typescript-eslint/no-unsafe-call': 'off',
            '@typescript-eslint/no-base-to-string': 'off',
            '@typescript-eslint/restrict-plus-operands': 'off',
            '@typescript-eslint/restrict-template-expressions': 'off'
        }
    },
    {
        files: ['**/*.js'],
        ...tseslint.configs.disableTypeChecked,
        languageOptions: { globals: { console: 'readonly', process: 'readonly', URL: 'readonly' } }
    }
);
