"""What the workflow runs: output paths and wildcard values, computed from the config alone."""
