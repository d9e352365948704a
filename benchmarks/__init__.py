"""Speed and memory benchmarks; run by hand (python -m benchmarks.run) or through `aacn bench`."""
