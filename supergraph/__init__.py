"""Dompet Digital Sawit's federation router: compose, plan, execute, serve (wallet-agnostic)."""
