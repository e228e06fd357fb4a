"""Outboxes: rows written in a Postgres transaction, relayed to Kafka afterwards."""
