"""HTTP routes, one module per group; each only validates, calls the library, shapes."""
