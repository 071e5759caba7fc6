// Sign in to STAC Browser as staff do, in headless Chromium (Playwright, playwright-core from
// web/stac-browser/node_modules): open the root catalog anonymously, press "Logg inn", paste
// the access token, then open a restricted collection's item and let its class map draw.
// Prints one JSON object.
//
//   node web/e2e/sign_in.cjs --url http://127.0.0.1:8000/browser/ --token eyJ... \
//       --collection "Land-ecology maps" --item land-ecology-E268800N7030400 \
//       --screenshot tests/artifacts/signin.png [--chromium /usr/bin/chromium]
//
// Result: {anonymousCards: [title], signedInCards: [title], logoutShown, cookie: {name, sameSite},
//          title, tileRequests: [url answered 200], refusedTiles: [url answered 401/403],
//          afterSignOut: {cards: [title], loginShown}, errors: [...], failedRequests: [...]}
'use strict';
const { parseArgs, launch, cardTitles, recordError } = require('./chromium.cjs');

(async () => {
  const a = parseArgs('sign_in.cjs', ['url', 'token', 'collection', 'item', 'screenshot']);
  const browser = await launch(a);
  const result = { errors: [], failedRequests: [], tileRequests: [], refusedTiles: [] };
  let page = null;
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    page = await context.newPage();
    page.setDefaultTimeout(a.timeout);
    page.on('pageerror', (e) => result.errors.push(String(e && e.stack || e).slice(0, 800)));
    page.on('response', (r) => {
      const tile = /\/tiles\/.*\/tiles\//.test(r.url());
      if (tile && r.status() === 200) result.tileRequests.push(r.url());
      else if (tile && [401, 403].includes(r.status())) result.refusedTiles.push(r.url());
      else if (r.status() >= 400 || r.status() === 0) result.failedRequests.push(`${r.status()} ${r.url()}`);
    });

    // 1. anonymous: the root catalog's collection cards
    await page.goto(a.url, { waitUntil: 'domcontentloaded' });
    result.anonymousCards = await cardTitles(page);

    // 2. sign in: the header's button, the token, submit; the page reloads signed in
    await page.locator('button', { hasText: /^\s*Logg inn\s*$/ }).first().click();
    const field = page.locator('#stac-browser-auth-modal input[type=password]');
    await field.fill(a.token);
    await page.locator('#stac-browser-auth-modal button[type=submit]').click();
    await page.locator('a', { hasText: a.collection }).first().waitFor({ state: 'visible' });
    result.signedInCards = await cardTitles(page);
    const logout = page.locator('button', { hasText: /^\s*Logg ut\s*$/ }).first();
    await logout.waitFor({ state: 'visible', timeout: 15000 }).catch(() => {});
    result.logoutShown = (await logout.count()) > 0 && await logout.isVisible();
    const cookie = (await context.cookies()).find((c) => c.name === 'sporbar_token');
    result.cookie = cookie ? { name: cookie.name, sameSite: cookie.sameSite, session: cookie.expires === -1 } : null;

    // 3. the restricted collection's item: its page and its class map's tiles
    await page.locator('a', { hasText: a.collection }).first().click();
    const itemLink = page.locator('a', { hasText: a.item }).first();
    await itemLink.waitFor({ state: 'visible' });
    await itemLink.click();
    await page.locator('h1', { hasText: a.item }).first().waitFor({ state: 'visible' });
    result.title = (await page.locator('h1').first().textContent()).trim();
    const deadline = Date.now() + 20000;
    while (result.tileRequests.length === 0 && Date.now() < deadline) await page.waitForTimeout(200);
    await page.waitForLoadState('networkidle').catch(() => {});
    await page.screenshot({ path: a.screenshot, fullPage: true });

    // 4. sign out: back to the root catalog, anonymous again
    await page.locator('button', { hasText: /^\s*Logg ut\s*$/ }).first().click();
    await page.waitForTimeout(1500);
    await page.goto(a.url, { waitUntil: 'domcontentloaded' });
    const cards = await cardTitles(page);
    const login = page.locator('button', { hasText: /^\s*Logg inn\s*$/ }).first();
    result.afterSignOut = { cards, loginShown: (await login.count()) > 0 && await login.isVisible() };
  } catch (e) {
    await recordError(result, page, a, e);
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(result));
  process.exit(result.anonymousCards === undefined ? 1 : 0);
})();
