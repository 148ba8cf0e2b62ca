"""Release notes as text: Chrome and WebGPU pages and markdown → ``Release`` values (pure)."""
