// End to end: the mobile app's web build (expo export --platform web, react-native-web) in
// Debian's headless Chromium at phone size, against the suite started here. The build is
// served with the API proxied on the same origin (as a phone reaches one suite address):
// sign in, a live prediction arrives over the WebSocket, upload a receipt photo and read its
// total. Screenshots go to test-artifacts/mobile/; the bundle size and the time to the first
// live prediction are printed.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, startSuite } from '../../web/e2e/suite.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const dist = resolve(here, '..', 'dist');
const receipts = resolve(repo, '../shared/data/ocr/sroie_receipts');
const artifacts = join(repo, 'test-artifacts', 'mobile');
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ci = process.env.CI === 'true' || process.env.CI === '1';
const RECEIPT = process.env.E2E_RECEIPT ?? '178';
const PHONE = { width: 390, height: 844 };

function fail(message) {
  console.error(`mobile e2e: ${message}`);
  process.exit(1);
}
function expect(cond, message) {
  if (!cond) throw new Error(message);
}
if (!existsSync(executablePath)) {
  if (ci) fail(`Chromium not found at ${executablePath}`);
  console.log(`mobile e2e: SKIPPED: Chromium not found at ${executablePath}`);
  process.exit(0);
}
if (!existsSync(join(dist, 'index.html'))) fail('frontend/mobile/dist is missing: run `npm run export:web` first');
if (!existsSync(receipts)) {
  console.log(`mobile e2e: SKIPPED: no receipts at ${receipts}`);
  process.exit(0);
}
const armillary = join(repo, '.venv', 'bin', 'armillary');

/** The JS bundle(s) of the export, raw and gzipped. */
function bundleSize() {
  const dir = join(dist, '_expo', 'static', 'js', 'web');
  let raw = 0;
  let gz = 0;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.js'))) {
    const b = readFileSync(join(dir, f));
    raw += b.length;
    gz += gzipSync(b, { level: 9 }).length;
  }
  return { raw, gz };
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.png': 'image/png', '.ico': 'image/x-icon', '.ttf': 'font/ttf' };

/** Static files of the export; /api, /ready and the WebSocket passed to the suite. */
function serve(suiteUrl) {
  const target = new URL(suiteUrl);
  const server = createServer((req, res) => {
    if (req.url.startsWith('/api/') || req.url.startsWith('/ready')) {
      const up = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host } }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.writeHead(502).end());
      req.pipe(up);
      return;
    }
    const path = normalize(decodeURIComponent(req.url.split('?')[0])).replace(/^(\.\.[/\\])+/, '');
    let file = join(dist, path);
    if (!file.startsWith(dist) || !existsSync(file) || statSync(file).isDirectory()) file = join(dist, 'index.html');
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  server.on('upgrade', (req, socket, head) => {
    const up = connect(Number(target.port), target.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`, ...Object.entries({ ...req.headers, host: target.host }).map(([k, v]) => `${k}: ${v}`), '', ''];
      up.write(lines.join('\r\n'));
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ url: `http://127.0.0.1:${server.address().port}`, server })));
}

async function shot(page, name) {
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(artifacts, `${name}.png`) });
}

rmSync(artifacts, { recursive: true, force: true });
mkdirSync(artifacts, { recursive: true });
const size = bundleSize();
console.log(`mobile e2e: web JS bundle ${(size.raw / 1024).toFixed(0)} KiB raw, ${(size.gz / 1024).toFixed(0)} KiB gzip -9`);
const truth = readFileSync(join(receipts, 'key_fields.csv'), 'utf8').split('\n').find((l) => l.startsWith(`${RECEIPT},`));
const total = truth.trim().split(',').at(-1).replace(/[^0-9.]/g, '');
const started = Date.now();
const profile = mkdtempSync(join(tmpdir(), 'armillary-mobile-e2e-'));
let suite;
let app;
let context;
let outcome = 'FAILED';
const problems = [];
try {
  suite = await startSuite(armillary, repo);
  app = await serve(suite.url);
  console.log(`mobile e2e: suite on ${suite.url} after ${((Date.now() - started) / 1000).toFixed(0)} s; app on ${app.url}`);
  context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: CHROMIUM_ARGS, viewport: PHONE, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  await page.goto(app.url);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Wrong username or password').waitFor({ timeout: 20_000 });
  await shot(page, '01-login-error');
  await page.getByLabel('Password').fill('admin-dev-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const signedIn = Date.now();
  await page.getByTestId('whoami').waitFor({ timeout: 30_000 });
  await page.getByTestId('live-status').filter({ hasText: 'live: open' }).waitFor({ timeout: 60_000 });
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="live-count"]')?.textContent ?? '0') > 0, null, { timeout: 420_000, polling: 250 });
  const firstLive = (Date.now() - signedIn) / 1000;
  console.log(`mobile e2e: first live prediction ${firstLive.toFixed(1)} s after sign-in (${((Date.now() - started) / 1000).toFixed(0)} s after the suite was started)`);
  await page.getByTestId('latest-prediction').waitFor();
  await shot(page, '02-crypto-live');
  await page.getByRole('tab', { name: 'OCR' }).click();
  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Choose photo' }).click();
  await (await chooser).setFiles(join(receipts, 'img', `${RECEIPT}.jpg`));
  await page.getByTestId('picked-name').waitFor();
  await page.getByRole('button', { name: 'Recognise' }).click();
  const field = page.getByTestId('field-receipt-total');
  await field.waitFor({ timeout: 180_000 });
  const shown = (await field.innerText()).replace(/^total/, '').trim();
  expect(shown.replace(/[^0-9.]/g, '') === total, `receipt total shown ${shown}, expected ${total}`);
  console.log(`mobile e2e: receipt ${RECEIPT} total read as ${shown} (key ${total})`);
  await field.scrollIntoViewIfNeeded();
  await shot(page, '03-documents-receipt');
  await page.getByRole('tab', { name: 'Analytics' }).click();
  await page.getByTestId('analytics-screen').waitFor();
  await shot(page, '04-analytics');
  await page.getByRole('tab', { name: 'Admin' }).click();
  await page.getByTestId('health').waitFor({ timeout: 30_000 });
  await shot(page, '05-admin');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow <= 0, `page is ${overflow}px wider than the phone`);
  if (problems.length) throw new Error(problems.join('\n'));
  outcome = 'passed';
} catch (err) {
  console.log(String(err.stack ?? err));
  for (const p of context?.pages() ?? []) await p.screenshot({ path: join(artifacts, 'failed.png') }).catch(() => {});
} finally {
  await context?.close().catch(() => {});
  app?.server.close();
  await suite?.stop();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`mobile e2e: ${outcome === 'passed' ? 1 : 0} passed, ${outcome === 'passed' ? 0 : 1} failed in ${((Date.now() - started) / 1000).toFixed(0)} s; screenshots in ${artifacts}`);
process.exit(outcome === 'passed' ? 0 : 1);
