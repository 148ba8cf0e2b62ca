"""The release monitor: find and download new Chrome and WebGPU release notes (I/O)."""
