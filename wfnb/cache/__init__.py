"""The step cache: read a cell, trace what it touches, key it, run or restore it."""
