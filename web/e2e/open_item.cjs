// Drive STAC Browser in headless Chromium (Playwright, playwright-core from
// web/stac-browser/node_modules): open the root catalog, click through to a collection and
// one of its items, and report what the item page shows. Prints one JSON object.
//
//   node web/e2e/open_item.cjs --url http://127.0.0.1:8000/browser/ \
//       --collection "Land-ecology maps" --item land-ecology-E268800N7030400 \
//       --screenshot tests/artifacts/item.png [--chromium /usr/bin/chromium]
//
// Result: {pageLoadMs, itemLoadMs, itemUrl, title, thumbnails: [{src, naturalWidth}],
//          lineageLinks: [{href, text}], errors: [...], failedRequests: [...]}
'use strict';
const path = require('path');

function args() {
  const out = { chromium: '/usr/bin/chromium', timeout: 60000 };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const k of ['url', 'collection', 'item', 'screenshot']) {
    if (!out[k]) { console.error(`open_item.cjs: --${k} is required`); process.exit(2); }
  }
  out.timeout = Number(out.timeout);
  return out;
}

(async () => {
  const a = args();
  const { chromium } = require(path.join(__dirname, '..', 'stac-browser', 'node_modules', 'playwright-core'));
  const browser = await chromium.launch({
    executablePath: a.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--disable-dev-shm-usage'],
  });
  const result = { errors: [], failedRequests: [] };
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const page = await context.newPage();
    page.setDefaultTimeout(a.timeout);
    page.on('pageerror', (e) => result.errors.push(String(e)));
    page.on('response', (r) => { if (r.status() >= 400) result.failedRequests.push(`${r.status()} ${r.url()}`); });

    // 1. the root catalog: page load = navigation start until the collection card is visible
    const t0 = Date.now();
    await page.goto(a.url, { waitUntil: 'domcontentloaded' });
    const collLink = page.locator('a', { hasText: a.collection }).first();
    await collLink.waitFor({ state: 'visible' });
    result.pageLoadMs = Date.now() - t0;

    // 2. the collection, then the item
    await collLink.click();
    const itemLink = page.locator('a', { hasText: a.item }).first();
    await itemLink.waitFor({ state: 'visible' });
    const t1 = Date.now();
    await itemLink.click();
    await page.locator('h1', { hasText: a.item }).first().waitFor({ state: 'visible' });
    result.itemUrl = page.url();
    // thumbnails load lazily: wait a little for images and links to settle
    await page.waitForLoadState('networkidle').catch(() => {});
    await page.waitForFunction(() => Array.from(document.images).every((i) => i.complete), null,
                               { timeout: 15000 }).catch(() => {});
    result.itemLoadMs = Date.now() - t1;
    result.title = (await page.locator('h1').first().textContent()).trim();

    // STAC Browser puts thumbnails in a "Thumbnails" tab beside the map: show it
    const tab = page.locator('a[role=tab], button, a', { hasText: /^\s*Thumbnails\s*$/ }).first();
    if (await tab.count()) {
      await tab.click();
      await page.waitForFunction(() => Array.from(document.images).every((i) => i.complete), null,
                                 { timeout: 15000 }).catch(() => {});
    }
    result.thumbnails = await page.$$eval('img', (imgs) => imgs
      .filter((i) => /thumbnail|\.png/i.test(i.currentSrc || i.src))
      .map((i) => ({ src: i.currentSrc || i.src, naturalWidth: i.naturalWidth, alt: i.alt,
                     visible: i.getBoundingClientRect().width > 0 })));
    const links = await page.$$eval('a', (as) => as.map((x) => ({ href: x.href, text: x.textContent.trim() })));
    result.lineageLinks = links.filter((l) => /lineage/i.test(l.href) || /lineage/i.test(l.text));
    await page.screenshot({ path: a.screenshot, fullPage: true });
    result.screenshot = a.screenshot;
  } catch (e) {
    result.errors.push(String(e && e.stack || e));
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(result));
  process.exit(result.pageLoadMs === undefined ? 1 : 0);
})();
