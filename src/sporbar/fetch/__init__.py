"""Bring raw data into raw/: Sentinel-2 SAFE products (demo source), parsed by :mod:`.safe`."""
