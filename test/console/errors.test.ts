import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { AuthenticationError, ConflictError, ConnectionError, NotFoundError, PermissionError, RateLimitError, ServerError, ValidationError } from '@collab/sdk';

import { describeError, Refusal, sentence } from '../../packages/console/src/errors.js';

const init = (status: number, message: string, code = 'x') => ({ status, message, code });

describe('describeError()', () => {
    it('says each kind of failure as one sentence', () => {
        assert.equal(describeError(new ConnectionError(init(0, 'fetch failed'))), 'The server cannot be reached. Check the connection and try again.');
        assert.equal(describeError(new AuthenticationError(init(401, 'Invalid email or password', 'unauthorized'))), 'The email or password is not right.');
        assert.equal(describeError(new AuthenticationError(init(401, 'The session has expired: log in again', 'session_expired'))), 'Your session has expired. Sign in again.');
        assert.equal(describeError(new PermissionError(init(403, 'Forbidden'))), 'Your role in this project does not allow that.');
        assert.equal(describeError(new NotFoundError(init(404, 'Not Found'))), 'That no longer exists, or you have no access to it.');
        assert.equal(describeError(new RateLimitError({ ...init(429, 'Too Many Requests'), retryAfter: 12 })), 'Too many requests. Try again in 12 seconds.');
        assert.equal(describeError(new ServerError(init(500, 'An internal server error occurred'))), 'The server could not do that. Try again later.');
        assert.equal(describeError(new Refusal('main.py exists already: open it from the list.')), 'main.py exists already: open it from the list.');
        assert.equal(describeError(new TypeError('x is undefined')), 'Something went wrong. Reload the page and try again.');
    });

    it('turns a validation or conflict message into a sentence', () => {
        assert.equal(describeError(new ValidationError(init(400, '"password" length must be at least 8 characters long'))), 'Password length must be at least 8 characters long.');
        assert.equal(describeError(new ConflictError(init(409, 'A project must keep at least one owner'))), 'A project must keep at least one owner.');
    });
});

describe('sentence()', () => {
    it('never passes JSON on', () => {
        assert.equal(sentence('{"statusCode":400}'), 'The request was refused.');
        assert.equal(sentence('[1,2]'), 'The request was refused.');
        assert.equal(sentence('   '), 'The request was refused.');
    });

    it('keeps a message that ends a sentence already', () => {
        assert.equal(sentence('"base_revision" is stale!'), 'Base revision is stale!');
    });
});
