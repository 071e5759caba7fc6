// Drive STAC Browser in headless Chromium (Playwright, playwright-core from
// web/stac-browser/node_modules): open the root catalog, click through to a collection and
// one of its items, and report what the item page shows. Prints one JSON object.
//
//   node web/e2e/open_item.cjs --url http://127.0.0.1:8000/browser/ \
//       --collection "Land-ecology maps" --item land-ecology-E268800N7030400 \
//       --screenshot tests/artifacts/item.png [--chromium /usr/bin/chromium] \
//       [--map-screenshot tests/artifacts/item-map.png] [--background 127.0.0.1:8123]
//       [--reload 1] [--switch-language English]
//
// Result: {pageLoadMs, itemLoadMs, itemUrl, title, thumbnails: [{src, naturalWidth}],
//          lineageLinks: [{href, text}], errors: [...], failedRequests: [...],
//          cardImages: [{src, naturalWidth, visible}] (the root catalog's collection cards),
//          cardTitles: [text], ui: {lang, languageButton, languages: [text]} (root page),
//          tileRequests: [url] (map tiles from /tiles/ answered 200), mapLoadMs, mapScreenshot,
//          mapDrawnMs (navigation to the item page until its class map tiles are drawn),
//          backgroundRequests: [url] (answered 200 by the --background host),
//          reload: {url, title} (the item URL reloaded), switched: {lang, languageButton, h1,
//          cardTitles (the root page's cards after the switch), errors (page errors during it)}}
'use strict';
const { parseArgs, launch, cardTitles, recordError } = require('./chromium.cjs');

async function uiLanguage(page) {
  const button = page.locator('.dropdown-toggle', { hasText: /:/ }).first();
  return {
    lang: await page.evaluate(() => document.documentElement.lang),
    languageButton: (await button.count()) ? (await button.textContent()).trim() : null,
    bodyText: (await page.locator('body').innerText()).slice(0, 4000),
  };
}

(async () => {
  const a = parseArgs('open_item.cjs', ['url', 'collection', 'item', 'screenshot']);
  const browser = await launch(a);
  const result = { errors: [], failedRequests: [] };
  let page = null;
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    page = await context.newPage();
    page.setDefaultTimeout(a.timeout);
    page.on('pageerror', (e) => result.errors.push(String(e && e.stack || e).slice(0, 800)));
    result.console = [];
    page.on('console', (m) => { if (['warning', 'error'].includes(m.type())) result.console.push(m.text()); });
    result.tileRequests = [];
    result.backgroundRequests = [];
    let firstTileAt = null;
    let lastTileAt = null;
    page.on('response', (r) => {
      if (r.status() >= 400 || r.status() === 0) result.failedRequests.push(`${r.status()} ${r.url()}`);
      else if (a.background && r.url().includes(a.background)) result.backgroundRequests.push(r.url());
      else if (/\/tiles\/.*\/tiles\//.test(r.url())) {
        result.tileRequests.push(r.url());
        if (firstTileAt === null) firstTileAt = Date.now();
        lastTileAt = Date.now();
      }
    });

    // 1. the root catalog: page load = navigation start until the collection card is visible
    const t0 = Date.now();
    await page.goto(a.url, { waitUntil: 'domcontentloaded' });
    const collLink = page.locator('a', { hasText: a.collection }).first();
    await collLink.waitFor({ state: 'visible' });
    result.pageLoadMs = Date.now() - t0;
    // the collection cards' preview pictures (thumbnail assets or preview links); they load
    // lazily, so each is loaded eagerly and decoded before it is measured
    await page.waitForLoadState('networkidle').catch(() => {});
    result.cardImages = await page.$$eval('.card img, img.card-img, img.card-img-top', async (imgs) => {
      for (const i of imgs) {
        i.loading = 'eager';
        try { await Promise.race([i.decode(), new Promise((r) => setTimeout(r, 10000))]); } catch (e) { /* broken */ }
      }
      return imgs.map((i) => ({ src: i.currentSrc || i.src, naturalWidth: i.naturalWidth,
                                visible: i.getBoundingClientRect().width > 0 }));
    });

    // the interface language: <html lang>, the language menu's button and entries
    result.cardTitles = await page.$$eval('.card .card-title', (ts) => ts.map((t) => t.textContent.trim()));
    result.ui = await uiLanguage(page);
    const menu = page.locator('.dropdown-toggle', { hasText: /:/ }).first();
    if (await menu.count()) {
      await menu.click();
      result.ui.languages = await page.$$eval('.lang-item', (ls) => ls.map((l) => l.textContent.trim()));
      await menu.click();
    }

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

    // the item's map: wait for its tiles, then a picture of the map panel alone
    if (a['map-screenshot']) {
      await page.waitForFunction(() => document.querySelector('.ol-viewport canvas'), null, { timeout: 20000 })
        .catch(() => {});
      const deadline = Date.now() + 20000;
      while (result.tileRequests.length === 0 && Date.now() < deadline) await page.waitForTimeout(200);
      await page.waitForLoadState('networkidle').catch(() => {});
      await page.waitForTimeout(1000);  // the tiles' fade-in
      result.mapLoadMs = firstTileAt === null ? null : firstTileAt - t1;
      result.mapDrawnMs = lastTileAt === null ? null : lastTileAt - t1;
      const map = page.locator('.ol-viewport').first();
      if (await map.count()) {
        await map.screenshot({ path: a['map-screenshot'] });
        result.mapScreenshot = a['map-screenshot'];
      }
    }

    // STAC Browser puts thumbnails in a "Thumbnails" tab beside the map: show it
    const tab = page.locator('a[role=tab], button, a', { hasText: /^\s*(Thumbnails|Miniatyrbilder)\s*$/ }).first();
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

    // 3. a deep link survives a reload: the same URL shows the same item
    if (a.reload) {
      const url = page.url();
      const tReload = Date.now();
      await page.reload({ waitUntil: 'domcontentloaded' });
      await page.locator('h1', { hasText: a.item }).first().waitFor({ state: 'visible' });
      const shownMs = Date.now() - tReload;
      await page.waitForLoadState('networkidle').catch(() => {});
      result.reload = { url: page.url(), title: (await page.locator('h1').first().textContent()).trim(), before: url,
                        // the item's page loaded from its URL: until it is shown, until its class map is drawn
                        shownMs, mapDrawnMs: lastTileAt !== null && lastTileAt > tReload ? lastTileAt - tReload : null };
    }
    // 4. the language menu, on the root page (reached inside the app: a reload would start in the
    //    configured language again), switches the interface and the collection cards
    if (a['switch-language']) {
      await page.evaluate(() => { window.location.hash = '#/'; });
      const before = (await cardTitles(page)).join('|');
      const nErrors = result.errors.length;
      await page.locator('.dropdown-toggle', { hasText: /:/ }).first().click();
      await page.locator('.lang-item', { hasText: a['switch-language'] }).first().click();
      await page.waitForFunction(() => document.documentElement.lang === 'en', null, { timeout: 15000 }).catch(() => {});
      // the cards are drawn again from the documents in the new language
      await page.waitForFunction((b) => {
        const ts = Array.from(document.querySelectorAll('.card .card-title')).map((t) => t.textContent.trim());
        return ts.length > 0 && ts.join('|') !== b;
      }, before, { timeout: 15000 }).catch(() => {});
      await page.waitForLoadState('networkidle').catch(() => {});
      result.switched = await uiLanguage(page);
      result.switched.h1 = (await page.locator('h1').first().textContent()).trim();
      result.switched.cardTitles = await page.$$eval('.card .card-title', (ts) => ts.map((t) => t.textContent.trim()));
      result.switched.errors = result.errors.splice(nErrors);  // the page's errors during the switch
    }
  } catch (e) {
    await recordError(result, page, a, e);
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(result));
  process.exit(result.pageLoadMs === undefined ? 1 : 0);
})();
