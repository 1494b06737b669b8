"""One module per platform; each only translates between its updates and the engine."""
