"""``sporbar serve``: the STAC API (stac-fastapi-pgstac), STAC Browser and the data files."""
