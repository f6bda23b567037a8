"""HTML and PDF reports over the analytics results."""
