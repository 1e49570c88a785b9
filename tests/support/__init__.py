"""Test support: real worker processes, a slow test agent, Kafka helpers."""
