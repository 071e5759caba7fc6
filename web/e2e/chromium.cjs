// What the STAC Browser scripts share: their arguments, headless Chromium (Playwright's
// playwright-core from web/stac-browser/node_modules) and the root catalog's collection cards.
'use strict';
const path = require('path');

// --name value pairs; exits 2 naming the script when a required one is missing.
function parseArgs(script, required) {
  const out = { chromium: '/usr/bin/chromium', timeout: 60000 };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const k of required) {
    if (!out[k]) { console.error(`${script}: --${k} is required`); process.exit(2); }
  }
  out.timeout = Number(out.timeout);
  return out;
}

// Headless Chromium without the network chatter a test machine cannot answer.
async function launch(a) {
  const { chromium } = require(path.join(__dirname, '..', 'stac-browser', 'node_modules', 'playwright-core'));
  return chromium.launch({
    executablePath: a.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--disable-dev-shm-usage'],
  });
}

// The titles of the collection cards on the page, once they are drawn.
async function cardTitles(page) {
  await page.locator('.card .card-title').first().waitFor({ state: 'visible' });
  await page.waitForLoadState('networkidle').catch(() => {});
  return page.$$eval('.card .card-title', (ts) => ts.map((t) => t.textContent.trim()));
}

// Record an error with the page's URL and a screenshot of what it showed.
async function recordError(result, page, a, e) {
  result.errors.push(String(e && e.stack || e));
  if (page) {
    result.errorUrl = page.url();
    await page.screenshot({ path: a.screenshot, fullPage: true }).catch(() => {});
  }
}

module.exports = { parseArgs, launch, cardTitles, recordError };
