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

    it('shows an example on every command, at every level', () => {
        const seen: string[] = [];
        const visit = (path: string[]) => {
            const help = collab(...path, '--help');
            assert.equal(help.code, 0, `collab ${path.join(' ')} --help`);
            assert.match(help.stdout, /\nExamples?:\n {2}\$ collab /, `collab ${path.join(' ')} --help`);
            const sub = commandsOf(help.stdout);
            if (path.length) {
                seen.push(path.join(' '));
            }

            sub.forEach((name) => visit([...path, name]));
        };
        visit([]);

        for (const command of ['login', 'logout', 'whoami', 'project create', 'project list', 'project show', 'project update', 'project delete', 'member add', 'member list', 'member set-role', 'member remove', 'workspace create', 'workspace list', 'workspace show', 'workspace delete', 'file ls', 'file cat', 'file put', 'ws tail', 'ws send', 'job submit', 'job wait', 'job status', 'job list', 'job cancel', 'job languages', 'admin users', 'admin user set', 'admin stats', 'admin job retry']) {
            assert.ok(seen.includes(command), command);
        }
    });

    it('exits with 2 on usage errors, saying what is wrong on stderr', () => {
        for (const args of [['nope'], ['project'], ['project', 'show'], ['--bogus'], ['job', 'submit', '--code', 'x'], ['ws', 'tail'], ['ws', 'tail', 'x'], ['admin', 'user', 'set', '3'], ['admin', 'user', 'set', '3', '--active', '--inactive']]) {
            const run = collab(...args);
            assert.equal(run.code, 2, args.join(' '));
            assert.equal(run.stdout, '');
            assert.notEqual(run.stderr, '');
        }
    });

    it('refuses a file path the server would refuse, naming the problem, before asking anything', () => {
        for (const [path, problem] of [['../etc/passwd', '. or .. segments'], ['a//b', 'empty segments'], ['/abs', 'relative'], ['a\\b', 'backslash'], ['x'.repeat(256), '255 bytes']] as const) {
            for (const args of [['file', 'cat', '1', path], ['file', 'put', '1', path, '--content', 'x']]) {
                const run = collab(...args);
                assert.equal(run.code, 2, args.join(' '));
                assert.equal(run.stdout, '');
                assert.ok(run.stderr.includes('the path must') && run.stderr.includes(problem), `${args.join(' ')}: ${run.stderr}`);
            }
        }
    });

    it('prints the version', () => {
        assert.match(collab('--version').stdout, /^\d+\.\d+\.\d+\n$/);
    });
});
