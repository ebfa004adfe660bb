"""The stages a query passes through, one module each."""
