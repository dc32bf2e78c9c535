"""What every service shares: wire models, topics, policy engine, and the Kafka/PostgreSQL machinery."""
