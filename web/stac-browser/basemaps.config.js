// STAC Browser's background maps, replacing its basemaps.config.js in the build (web/build.sh).
// The maps are not built in: `sporbar serve` puts them into the runtime /browser/config.js as
// `sporbarBasemaps` (from `browser.background` in config/config.yaml; default Kartverket's open
// topographic WMTS), so one build works with any background, also a local one in the tests.
// Each entry holds OpenLayers source options (`is`: XYZ, WMTS, TileWMS; `url`, `title`,
// `attributions`, `projection`). A background that fails to load only leaves its tiles empty:
// the item's own layers are drawn regardless.
import CONFIG from './src/config';

export default function configureBasemap(/* stac, i18n */) {
  const maps = CONFIG.sporbarBasemaps;
  if (!Array.isArray(maps)) {
    return [];
  }
  // copies: STAC Browser adds the WMTS capabilities' options to the object it is given
  return maps.map((options) => Object.assign({}, options));
}
