// The suite for the end-to-end runs (web app and the mobile app's web build): started here
// on embedded stores with `armillary up` on a free port, stopped with SIGTERM.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const freePort = () =>
  new Promise((ok, bad) => {
    const srv = createServer();
    srv.once('error', bad);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });

// ------------------------------------------------------------------ the suite
/** `armillary` (the venv's CLI) run from `repo` (with `extraEnv` added to its environment);
 * resolves once it is serving. */
export async function startSuite(armillary, repo, extraEnv = {}) {
  const port = await freePort();
  // its own job server port too: a second suite (the no-shared run) may be up beside it
  const dashboard = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'armillary-e2e-'));
  const log = [];
  const child = spawn(armillary, ['up'], {
    cwd: repo,
    env: { ...process.env, ARMILLARY_ENVIRONMENT: 'test', ARMILLARY_DATA_DIR: dataDir, ARMILLARY_HTTP_PORT: String(port),
      ARMILLARY_RAY_DASHBOARD_URL: `http://127.0.0.1:${dashboard}`, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const url = await new Promise((ok, bad) => {
    const timer = setTimeout(() => bad(new Error(`suite not serving after 300 s:\n${log.join('').slice(-3000)}`)), 300_000);
    const onData = (chunk) => {
      const text = chunk.toString();
      log.push(text);
      const m = /Armillary is serving on (http:\/\/\S+)/.exec(log.join(''));
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      bad(new Error(`armillary up exited with ${code}:\n${log.join('').slice(-3000)}`));
    });
  });
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((ok) => child.once('exit', ok));
    child.kill('SIGTERM');
    const slow = setTimeout(() => {
      console.error('e2e: suite still running 90 s after SIGTERM; killing it');
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 90_000);
    await exited;
    clearTimeout(slow);
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { url, stop, log };
}

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

