//! Workload generators and benchmarks live here (issue 10).
