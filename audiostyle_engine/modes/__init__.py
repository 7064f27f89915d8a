"""Batch and watch: the input folder, the coordinator, the journal, the job a worker runs, the worker pools, the live display."""
