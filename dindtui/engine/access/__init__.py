"""A level for other tools: env lines, docker CLI contexts, TLS client certificates."""
