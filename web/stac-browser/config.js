// Build-time options of the STAC Browser that `sporbar serve` serves (web/build.sh).
// The catalog/API URL is NOT set here: `sporbar serve` writes it at runtime into the
// /browser/config.js it serves (window.STAC_BROWSER_CONFIG = {catalogUrl: ...}), so one
// build works against the STAC API and against a static catalog.json on any port.
// Hash history mode + relative pathPrefix: the dist folder can be served under any path
// prefix by a plain static file server, no SPA fallback needed.
module.exports = {
    catalogUrl: null,
    catalogTitle: "sporbar",
    catalogImage: null,
    allowExternalAccess: true,
    allowedDomains: [],
    detectLocaleFromBrowser: false,
    storeLocale: false,
    // Norwegian bokmål first (web/stac-browser/locales/nb, added to the build by web/build.sh),
    // English second; the language menu lists exactly these
    locale: "nb",
    fallbackLocale: "en",
    supportedLocales: ["nb", "en"],
    apiCatalogPriority: null,
    useTileLayerAsFallback: false,
    displayGeoTiffByDefault: false,
    displayPreview: true,
    displayOverview: true,
    buildTileUrlTemplate: null,
    getMapSourceOptions: null,
    pathPrefix: "./",
    historyMode: "hash",
    cardViewMode: "cards",
    cardViewSort: "asc",
    showKeywordsInItemCards: false,
    showKeywordsInCatalogCards: false,
    showThumbnailsAsAssets: true,
    searchResultsPerPage: null,
    itemsPerPage: null,
    collectionsPerPage: null,
    maxEntriesPerPage: 1000,
    defaultThumbnailSize: null,
    crossOriginMedia: null,
    requestHeaders: {},
    requestQueryParameters: {},
    socialSharing: [],
    preprocessSTAC: null,
    authConfig: null,
    crs: {},
    footerLinks: null
};
