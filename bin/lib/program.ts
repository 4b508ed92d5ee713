import { readFileSync } from 'node:fs';

import { Command } from 'commander';

import * as adminJobRetry from '../commands/admin-job-retry.js';
import * as adminStats from '../commands/admin-stats.js';
import * as adminUserSet from '../commands/admin-user-set.js';
import * as adminUsers from '../commands/admin-users.js';
import * as fileCat from '../commands/file-cat.js';
import * as fileLs from '../commands/file-ls.js';
import * as filePut from '../commands/file-put.js';
import * as jobCancel from '../commands/job-cancel.js';
import * as jobLanguages from '../commands/job-languages.js';
import * as jobList from '../commands/job-list.js';
import * as jobStatus from '../commands/job-status.js';
import * as jobSubmit from '../commands/job-submit.js';
import * as jobWait from '../commands/job-wait.js';
import * as login from '../commands/login.js';
import * as logout from '../commands/logout.js';
import * as memberAdd from '../commands/member-add.js';
import * as memberList from '../commands/member-list.js';
import * as memberRemove from '../commands/member-remove.js';
import * as memberSetRole from '../commands/member-set-role.js';
import * as projectCreate from '../commands/project-create.js';
import * as projectDelete from '../commands/project-delete.js';
import * as projectList from '../commands/project-list.js';
import * as projectShow from '../commands/project-show.js';
import * as projectUpdate from '../commands/project-update.js';
import * as whoami from '../commands/whoami.js';
import * as workspaceCreate from '../commands/workspace-create.js';
import * as workspaceDelete from '../commands/workspace-delete.js';
import * as workspaceList from '../commands/workspace-list.js';
import * as workspaceShow from '../commands/workspace-show.js';
import * as wsSend from '../commands/ws-send.js';
import * as wsTail from '../commands/ws-tail.js';
import { examples } from './command.js';

interface Module {
    register(parent: Command): void;
}

/** Command groups: name, description, an example, and their commands. */
const GROUPS: Array<[string, string, string, Module[]]> = [
    ['project', 'Create, list, show, update and delete projects', 'collab project list', [projectCreate, projectList, projectShow, projectUpdate, projectDelete]],
    ['member', 'Manage the members of a project and their roles', 'collab member add 12 grace@example.com --role viewer', [memberAdd, memberList, memberSetRole, memberRemove]],
    ['workspace', 'Create, list, show and delete the workspaces of a project', 'collab workspace create 12 "Lexer"', [workspaceCreate, workspaceList, workspaceShow, workspaceDelete]],
    ['file', 'List, read and write the files of a workspace', 'collab file put 31 src/main.py --file main.py', [fileLs, fileCat, filePut]],
    ['ws', 'Follow and send the events of a workspace', 'collab ws tail 31', [wsTail, wsSend]],
    ['job', 'Run code in the sandbox and follow jobs', 'collab job submit --file hello.py --language python --wait', [jobSubmit, jobWait, jobStatus, jobList, jobCancel, jobLanguages]],
    ['admin', 'Operate the system: users, statistics, failed jobs (administrators only)', 'collab admin stats', [adminUsers, adminUserSet, adminStats, adminJobRetry]]
];

function version(): string {
    try {
        return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    }
    catch {
        return '0.0.0';
    }
}

/** The `collab` command tree. Usage errors throw a `CommanderError` (`exitOverride`). */
export function buildProgram(): Command {
    const program = new Command('collab')
        .description('Command-line client of a collab server: projects, workspaces, files, events, jobs and administration')
        .version(version(), '-V, --version', 'print the version')
        .option('--server <url>', 'the collab server (default: $COLLAB_SERVER, else the one you last logged in to, else http://127.0.0.1:8000)')
        .option('--json', 'print one JSON document on stdout (never prompts)')
        .exitOverride()
        .showHelpAfterError('(add --help for usage and examples)')
        .addHelpText('after', `${examples('collab login --server http://127.0.0.1:8000', 'collab project create "Compiler course"', 'collab project list --json')}
Environment: COLLAB_SERVER (server), COLLAB_TOKEN (access token instead of the saved login), XDG_CONFIG_HOME (where collab/ keeps credentials).
`);

    for (const command of [login, logout, whoami]) {
        command.register(program);
    }

    for (const [name, description, example, commands] of GROUPS) {
        const group = program.command(name).description(description).addHelpText('after', examples(example));
        for (const command of commands) {
            command.register(group);
        }
    }

    return program;
}
