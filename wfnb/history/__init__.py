"""The history: variants of a workflow, replays, sweeps, import and export."""
