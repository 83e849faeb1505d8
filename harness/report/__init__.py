"""Reports from results.json: markdown summary, HTML with plots, comparisons."""
