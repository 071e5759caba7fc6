#!/usr/bin/env bash
# Build STAC Browser (npm @radiantearth/stac-browser 4.x, shipped as source) into
# web/stac-browser/dist for `sporbar serve`.
#
#   web/build.sh            build when an input changed (else print "up to date")
#   web/build.sh --force    build anyway
#
# Inputs: web/stac-browser/{package.json,package-lock.json,config.js,basemaps.config.js},
# the locales STAC Browser lacks (web/stac-browser/locales/<code>/: Norwegian bokmål, nb) and this script;
# their hash is stored in dist/.inputs-sha256 and the build is skipped when it matches.
# `npm ci` installs the locked tree (ol-stac pinned to 1.5.1 by "overrides") into
# web/stac-browser/node_modules; the package source is copied to web/stac-browser/.build
# (its eslint plugin dropped, the runtime config.js <script> enabled, the configured locale
# used for the data language too, an API document already in the chosen language not loaded
# again) and built there with
# vue-cli-service in hash-history mode, with sporbar's locales added to src/locales and its
# basemaps.config.js (background map from the runtime config) in place of the built-in one.
# The catalog URL comes at runtime from the config.js that `sporbar serve` writes next to index.html.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SB=$HERE/stac-browser
DIST=$SB/dist
WORK=$SB/.build
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

command -v npm >/dev/null || { echo "web/build.sh: npm not found (apt-get install npm, or Node.js >= 18)" >&2; exit 1; }

inputs_hash() {
    (cd "$SB" && cat package.json package-lock.json config.js basemaps.config.js "$HERE/build.sh" \
        && find locales -type f | LC_ALL=C sort | while read -r f; do echo "$f"; cat "$f"; done) \
        | sha256sum | cut -d' ' -f1
}
HASH=$(inputs_hash)
if [ "$FORCE" = 0 ] && [ -f "$DIST/index.html" ] && [ "$(cat "$DIST/.inputs-sha256" 2>/dev/null)" = "$HASH" ]; then
    echo "web/build.sh: $DIST up to date"
    exit 0
fi

start=$(date +%s)
cd "$SB"
# npm ci only when node_modules does not hold exactly the locked tree
if ! cmp -s package-lock.json node_modules/.sporbar-lock 2>/dev/null; then
    echo "web/build.sh: npm ci" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
    cp package-lock.json node_modules/.sporbar-lock
fi

PKG=$SB/node_modules/@radiantearth/stac-browser
rm -rf "$WORK"
mkdir -p "$WORK"
cp -r "$PKG"/. "$WORK"/
cp "$SB/config.js" "$WORK/config.js"
cp "$SB/basemaps.config.js" "$WORK/basemaps.config.js"
for dir in "$SB"/locales/*/; do                  # locales STAC Browser 4.0.1 does not ship
    code=$(basename "$dir")
    [ -e "$WORK/src/locales/$code" ] && { echo "web/build.sh: STAC Browser has its own locale $code now" >&2; exit 1; }
    cp -r "$dir" "$WORK/src/locales/$code"
done
rm -rf "$WORK/node_modules"                  # a leftover nested one (older npm tree) would hide the link
ln -s ../node_modules "$WORK/node_modules"   # the source imports ../node_modules/ol/ol.css
node -e '
const fs = require("fs"); const p = process.argv[1] + "/package.json";
const pkg = JSON.parse(fs.readFileSync(p, "utf8"));
for (const k of ["@vue/cli-plugin-eslint", "eslint", "eslint-plugin-vue", "babel-eslint"]) delete pkg.devDependencies[k];
fs.writeFileSync(p, JSON.stringify(pkg, null, 2));
const h = process.argv[1] + "/public/index.html";
const html = fs.readFileSync(h, "utf8");
const patched = html.replace(/<!--\s*<script defer="defer" src="\/config.js"><\/script>\s*-->/,
                             "<script defer=\"defer\" src=\"./config.js\"></script>");
if (patched === html) { console.error("web/build.sh: config.js <script> not found in public/index.html"); process.exit(1); }
fs.writeFileSync(h, patched);
// With detectLocaleFromBrowser and storeLocale off, STAC Browser 4.0.1 sets the configured locale
// for its interface only: the data language stays unset, so a catalog with a Norwegian version
// (alternate link, hreflang nb) would open in English. The configured locale applies to both.
const v = process.argv[1] + "/src/StacBrowser.vue";
const vue = fs.readFileSync(v, "utf8");
const anchor = "      if (locale && this.supportedLocalesFromVueX.includes(locale)) {";
if (!vue.includes(anchor)) { console.error("web/build.sh: detectLocale() not found in src/StacBrowser.vue"); process.exit(1); }
let patchedVue = vue.replace(anchor, "      locale = locale || this.$store.state.locale;\n" + anchor);
// A STAC API with the language conformance class is loaded afresh when the data language
// changes, also when the page already shows a document in that language (the first page, once
// the configured language is applied to it): a second load of everything, whose page swap trips
// a timer of the read-more box. A document already in the language is not loaded again.
const reload = "          else if (this.supportsConformance(API_LANGUAGE_CONFORMANCE)) {";
if (!patchedVue.includes(reload)) { console.error("web/build.sh: the API language reload not found in src/StacBrowser.vue"); process.exit(1); }
patchedVue = patchedVue.replace(reload, "          else if (this.supportsConformance(API_LANGUAGE_CONFORMANCE) &&\n" +
  "                   !(this.data.getMetadata(\"language\") && this.data.getMetadata(\"language\").code === locale)) {");
fs.writeFileSync(v, patchedVue);
' "$WORK"
# the runtime config placeholder (sporbar serve answers /browser/config.js itself)
echo 'window.STAC_BROWSER_CONFIG = {};' >"$WORK/public/config.js"

echo "web/build.sh: vue-cli-service build -> $DIST" >&2
rm -rf "$DIST.tmp"
(cd "$WORK" && NODE_ENV=production "$SB/node_modules/.bin/vue-cli-service" build --no-clean \
    --dest "$DIST.tmp" --noSourceMaps >"$SB/.build.log" 2>&1) \
    || { tail -40 "$SB/.build.log" >&2; echo "web/build.sh: build failed (log $SB/.build.log)" >&2; exit 1; }
echo "$HASH" >"$DIST.tmp/.inputs-sha256"
rm -rf "$DIST" && mv "$DIST.tmp" "$DIST"
rm -rf "$WORK"
echo "web/build.sh: built $DIST in $(( $(date +%s) - start )) s"
