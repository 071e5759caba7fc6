"""Sentinel-1 GRD backscatter ARD: calibration, geocoding to the tile grid, speckle filter, period statistics."""
