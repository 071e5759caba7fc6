"""Schema URIs and field names of the STAC extensions sporbar writes by hand.

pystac has helpers for most extensions; it has none for ``processing``, so its
fields are built here from one prefix so that no key is typed twice.
"""

from __future__ import annotations

from typing import Final

STAC_VERSION: Final = "1.1.0"

PROCESSING_SCHEMA_URI: Final = "https://stac-extensions.github.io/processing/v1.2.0/schema.json"
PROCESSING_PREFIX: Final = "processing:"
PROCESSING_LINEAGE: Final = PROCESSING_PREFIX + "lineage"
PROCESSING_SOFTWARE: Final = PROCESSING_PREFIX + "software"
PROCESSING_FACILITY: Final = PROCESSING_PREFIX + "facility"
PROCESSING_DATETIME: Final = PROCESSING_PREFIX + "datetime"
PROCESSING_EXPRESSION: Final = PROCESSING_PREFIX + "expression"
PROCESSING_LEVEL: Final = PROCESSING_PREFIX + "level"
PROCESSING_VERSION: Final = PROCESSING_PREFIX + "version"

FILE_SCHEMA_URI: Final = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
# projection v2 (proj:code, proj:bbox, proj:shape): declared by the raw lidar, labels and lidar product items
PROJECTION_SCHEMA_URI: Final = "https://stac-extensions.github.io/projection/v2.0.0/schema.json"
# version v1.2.0: model and training-data items are immutable versions (sporbar.stac.versions)
VERSION_SCHEMA_URI: Final = "https://stac-extensions.github.io/version/v1.2.0/schema.json"
VERSION: Final = "version"
DEPRECATED: Final = "deprecated"
LATEST_VERSION: Final = "latest-version"
PREDECESSOR_VERSION: Final = "predecessor-version"
SUCCESSOR_VERSION: Final = "successor-version"
FILE_CHECKSUM: Final = "file:checksum"
FILE_SIZE: Final = "file:size"
# language v1.0.0: the language of a catalog or collection (``language``), the others it exists in
# (``languages``) and links to them (``hreflang``); sporbar.stac.language
LANGUAGE_SCHEMA_URI: Final = "https://stac-extensions.github.io/language/v1.0.0/schema.json"

# sporbar's own provenance fields (no published extension; STAC allows extra properties)
SPORBAR_PREFIX: Final = "sporbar:"
SPORBAR_CONFIG_HASH: Final = SPORBAR_PREFIX + "config_hash"
SPORBAR_CODE_VERSION: Final = SPORBAR_PREFIX + "code_version"
SPORBAR_IMAGE_DIGEST: Final = SPORBAR_PREFIX + "image_digest"
SPORBAR_SLURM: Final = SPORBAR_PREFIX + "slurm"
SPORBAR_STEP: Final = SPORBAR_PREFIX + "step"
# the id every version of a versioned item shares (``model-rf``), its id without the version
SPORBAR_VERSION_OF: Final = SPORBAR_PREFIX + "version_of"
# on map items: the names of the classes present in the tile, and the model item that made it
SPORBAR_CLASSES: Final = SPORBAR_PREFIX + "classes"
SPORBAR_MODEL: Final = SPORBAR_PREFIX + "model"

DERIVED_FROM: Final = "derived_from"
# Link from a catalog copy to the item it was copied from, beside its data (IANA "via": the source).
VIA: Final = "via"

# Collection ids, one per product family.
COLLECTION_S2_RAW: Final = "sentinel-2-l2a-raw"
COLLECTION_S1_RAW: Final = "sentinel-1-grd-raw"
COLLECTION_LIDAR_RAW: Final = "lidar-raw"
COLLECTION_LABELS_RAW: Final = "labels-raw"
COLLECTION_ARD: Final = "sentinel-2-ard"
COLLECTION_S1_ARD: Final = "sentinel-1-ard"
COLLECTION_LIDAR_PRODUCTS: Final = "lidar-products"
COLLECTION_TRAINING: Final = "training-data"
COLLECTION_MODELS: Final = "models"
COLLECTION_MAPS: Final = "land-ecology-maps"
COLLECTION_ACCURACY: Final = "map-accuracy"
COLLECTIONS: Final = (
    COLLECTION_S2_RAW,
    COLLECTION_S1_RAW,
    COLLECTION_LIDAR_RAW,
    COLLECTION_LABELS_RAW,
    COLLECTION_ARD,
    COLLECTION_S1_ARD,
    COLLECTION_LIDAR_PRODUCTS,
    COLLECTION_TRAINING,
    COLLECTION_MODELS,
    COLLECTION_MAPS,
    COLLECTION_ACCURACY,
)

# Media types
COG: Final = "image/tiff; application=geotiff; profile=cloud-optimized"
ZARR: Final = "application/vnd+zarr"
GEOPARQUET: Final = "application/vnd.apache.parquet"
GEOPACKAGE: Final = "application/geopackage+sqlite3"
LAZ: Final = "application/vnd.laszip"
JSON: Final = "application/json"
XML: Final = "application/xml"
JP2: Final = "image/jp2"
