"""coverstory.catalog.importers."""
