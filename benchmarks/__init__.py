"""Speed, memory and accuracy benchmarks: `python -m benchmarks.<name>`."""
