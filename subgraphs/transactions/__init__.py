"""The transactions subgraph: the payment saga, invoices (VAs), the outbox of notices and recovery."""
