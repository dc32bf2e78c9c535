"""The project's tests; a package so that `tests.support` can be imported from any test."""
