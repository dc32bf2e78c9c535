"""The `yibao` command line: an entry point above the services, like their Kafka and HTTP faces."""
