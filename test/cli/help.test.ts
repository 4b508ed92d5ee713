import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const CLI = fileURLToPath(new URL('../../bin/dist/collab.js', import.meta.url));

describe('collab --help', () => {
    let home: string;
    const collab = (...args: string[]) => {
        const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, 'config') } });
        return { code: run.status, stdout: run.stdout, stderr: run.stderr };
    };

    /** The subcommands a help text lists. */
    const commandsOf = (help: string) => help.split('Commands:\n')[1]?.split('\n\n')[0]!
        .split('\n').map((line) => /^ {2}([a-z-]+)/.exec(line)?.[1]).filter((name): name is string => !!name && name !== 'help') ?? [];

    before(() => {
        assert.ok(existsSync(CLI), `${CLI} is missing: build it first (npx tsc -b bin)`);
        home = mkdtempSync(join(tmpdir(), 'collab-cli-'));
    });
    after(() => rmSync(home, { recursive: true, force: true }));

    it('shows an example on every command', () => {
        const top = collab('--help');
        assert.equal(top.code, 0);
        const seen: string[] = [];
        for (const name of commandsOf(top.stdout)) {
            const help = collab(name, '--help');
            assert.equal(help.code, 0);
            const sub = commandsOf(help.stdout);
            for (const path of sub.length ? sub.map((s) => [name, s]) : [[name]]) {
                const text = path.length === 1 ? help.stdout : collab(...path, '--help').stdout;
                assert.match(text, /\nExamples?:\n {2}\$ collab /, `collab ${path.join(' ')} --help`);
                seen.push(path.join(' '));
            }
        }

        for (const command of ['login', 'logout', 'whoami', 'project create', 'project list', 'project show', 'project update', 'project delete', 'member add', 'member list', 'member set-role', 'member remove', 'workspace create', 'workspace list', 'workspace show', 'workspace delete', 'file ls', 'file cat', 'file put', 'ws send', 'job submit', 'job status', 'job list', 'job cancel', 'job languages']) {
            assert.ok(seen.includes(command), command);
        }
    });

    it('exits with 2 on usage errors, saying what is wrong on stderr', () => {
        for (const args of [['nope'], ['project'], ['project', 'show'], ['--bogus'], ['job', 'submit', '--code', 'x']]) {
            const run = collab(...args);
            assert.equal(run.code, 2, args.join(' '));
            assert.equal(run.stdout, '');
            assert.notEqual(run.stderr, '');
        }
    });

    it('prints the version', () => {
        assert.match(collab('--version').stdout, /^\d+\.\d+\.\d+\n$/);
    });
});
