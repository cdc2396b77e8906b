"""jaxnet's internals: not public API, may change without notice."""
