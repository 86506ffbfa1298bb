import Agent from 'undici/lib/dispatcher/agent';
import Dispatcher from 'undici/lib/dispatcher/dispatcher';
import api from 'undici/lib/api';
// As loading undici's root does, install an undici Agent as the process's global dispatcher when
// none is: global fetch, and the SDKs that look for it (@google/genai), keep finding one.
import 'undici/lib/global';

/**
 * undici's `Agent` with its promise API (`request`, `stream`, …), loaded without the rest of
 * undici. The package root loads every dispatcher, the mocks, the cache and the interceptors:
 * 526 KiB of the Lambda bundle and ~40 ms of its cold start, for the one class the gateway uses.
 * These are the files the root loads for `Agent` and the global dispatcher, plus the one line of
 * its `index.js` that gives every dispatcher the API. undici declares no `exports`, so the paths
 * resolve, but they are not its public API: `test/core/undici-agent.test.ts` checks that they
 * still give the root's own `Agent`, working, after an upgrade.
 *
 * @example
 * const agent = new Agent({ keepAliveTimeout: 30_000 });
 * const response = await agent.request({ origin, path: '/v1/models', method: 'GET' });
 */
Object.assign(Dispatcher.prototype, api);

export { Agent };
