import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';

import WebSocket from 'ws';

import { makeTeam, nesClient, startServer, until, type RealtimeServer, type Team } from './helpers.js';

/** Writes a WebSocket upgrade request on a bare TCP socket and cuts it after `afterMs`, whatever the server is doing. */
function upgradeAndCut(port: number, path: string, afterMs: number): Promise<void> {
    return new Promise((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
            socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
                + `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
            setTimeout(() => socket.destroy(), afterMs);
        });
        socket.on('error', () => undefined);
        socket.on('close', () => resolve());
    });
}

/** Opens a raw socket, sends `frames` once open (each after the previous reply when `await` is set) and cuts it. */
function sendAndCut(url: string, frames: string[], cutAfterReplies: number): Promise<void> {
    return new Promise((resolve) => {
        const ws = new WebSocket(url);
        let replies = 0;
        const timer = setTimeout(() => ws.terminate(), 5000);
        ws.on('error', () => undefined);
        ws.on('message', () => {
            if (++replies === cutAfterReplies) {
                ws.terminate();
            }
        });
        ws.once('open', () => {
            frames.forEach((frame) => ws.send(frame));
            if (cutAfterReplies === 0) {
                ws.terminate();
            }
        });
        ws.once('close', () => {
            clearTimeout(timer);
            resolve();
        });
    });
}

describe('sockets that drop in the middle of an exchange', () => {
    let t: RealtimeServer;
    let team: Team;
    const api = () => t.server.plugins['collab-realtime'];

    const nothingLeft = async () => {
        await until(() => {
            const { nes, ws } = api().sockets();
            return nes + ws === 0 && api().anonymous() === 0 && api().hub.connections().length === 0;
        }, 10_000, `nothing left: ${JSON.stringify({ ...api().sockets(), anonymous: api().anonymous(), connections: api().hub.connections().length })}`);
        assert.equal(t.server.listener.listenerCount('upgrade'), 1);
    };

    before(async () => {
        t = await startServer({ realtime: { maxPerUser: 1000 } });
        team = await makeTeam(t);
    });
    after(() => t.stop());

    it('leaves nothing behind when a plain upgrade is cut while its token and membership are checked', async () => {
        const good = `/ws/workspaces/${team.workspaceId}/?token=${team.owner.access}`;
        const outsider = `/ws/workspaces/${team.workspaceId}/?token=${team.outsider.access}`;
        for (let round = 0; round < 5; round++) {
            await Promise.all([0, 1, 2, 5, 10].flatMap((ms) => [
                upgradeAndCut(t.port, good, ms),
                upgradeAndCut(t.port, outsider, ms),
                upgradeAndCut(t.port, '/ws/workspaces/1/?token=bad', ms),
                upgradeAndCut(t.port, '/', ms)
            ]));
        }

        await nothingLeft();
    });

    it('leaves nothing behind when a socket drops during hello, reauth or a plain auth frame', async () => {
        const nesUrl = `ws://127.0.0.1:${t.port}/`;
        const plainUrl = `ws://127.0.0.1:${t.port}/ws/workspaces/${team.workspaceId}/?token=${team.owner.access}`;
        const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
        const hello = (token: string) => JSON.stringify({ type: 'hello', id: 1, version: '2', auth: auth(token) });
        const reauth = (token: string) => JSON.stringify({ type: 'reauth', id: 2, auth: auth(token) });
        const plainAuth = (token: string) => JSON.stringify({ event: 'auth', payload: { token } });
        for (let round = 0; round < 5; round++) {
            await Promise.all([
                sendAndCut(nesUrl, [hello(team.owner.access)], 0),
                sendAndCut(nesUrl, [hello('bad')], 0),
                sendAndCut(nesUrl, [hello(team.owner.access), reauth(team.owner.access)], 0),
                sendAndCut(nesUrl, [hello(team.owner.access), reauth(team.owner.access)], 1),
                sendAndCut(nesUrl, [hello(team.owner.access), reauth(team.viewer.access)], 1),
                sendAndCut(nesUrl, [hello(team.owner.access), reauth('bad')], 1),
                sendAndCut(plainUrl, [plainAuth(team.owner.access)], 0),
                sendAndCut(plainUrl, [plainAuth('bad'), plainAuth(team.owner.access)], 0),
                sendAndCut(plainUrl, [plainAuth(team.viewer.access)], 0)
            ]);
        }

        await nothingLeft();
        const client = await nesClient(t.port, team.owner.access);
        assert.equal((await client.request({ method: 'GET', path: '/healthz' })).statusCode, 200);
        await client.disconnect();
        await nothingLeft();
    });
});
