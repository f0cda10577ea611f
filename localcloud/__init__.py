"""Local cloud: real OpenStack services on 127.0.0.1 for tests and demos."""
