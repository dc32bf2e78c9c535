"""The five services; each is a package with app.py, handlers, API, pure domain, store and migrations."""
