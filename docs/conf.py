"""Sphinx settings of the documentation site: ``nox -s docs`` builds it into build/docs."""

project = "idempotency-middleware"
author = "idempotency-middleware contributors"
copyright = "idempotency-middleware contributors"

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["bench/results.json"]

# Links to headings of another page, such as semantics.md#errors.
myst_heading_anchors = 3
# Every cross-reference must resolve: a broken link fails the build.
nitpicky = True

html_theme = "furo"
html_title = "idempotency-middleware"
html_baseurl = "https://idempotency-middleware.readthedocs.io/en/latest/"
html_copy_source = False
html_show_sourcelink = False
