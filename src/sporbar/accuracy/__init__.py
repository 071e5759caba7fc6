"""Area-adjusted accuracy of a map: validation sample, reference labels, stratified estimates."""
