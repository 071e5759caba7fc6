"""Airborne lidar: read LAZ point clouds and grid them into DTM, DSM, CHM and density."""
