"""Trainers that produce cached runs: real networks trained once, replayed ever after."""
